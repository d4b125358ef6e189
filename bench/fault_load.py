"""The borrowers of the fault matrix (bench/fault_matrix.py): web chat and Telegram borrowers
who keep talking through nginx while a fault hits the topology, each following every message
until the assistant answers it, and what they saw.

A web chat borrower talks as the page does (bot/static/webchat.js): a call that fails on the
way (connection refused or reset, nginx's 502/503/504, no answer in 60 s) is sent again with
the same message id; a "try again shortly" notice is not an answer, so the message is sent
again a few seconds later, as a borrower would. A message not answered in its call may be
answered later: the chat's history is read at the end. A Telegram borrower talks through the
fake Bot API server and reads the bot's messages there.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from actions.messages import TEXTS as ACTION_TEXTS
from bot.texts import TEXTS as GATEWAY_TEXTS

THINK_SECONDS = 2.0  # between a borrower's answer and its next message (the web chat allows
# 30 a minute per chat)
NOTICE_PAUSE_SECONDS = 3.0  # a borrower shown "try again shortly" tries again after this
POST_TIMEOUT = 60.0  # as the web chat page

# What the gateway and the actions say when they cannot answer now: honest, not an answer.
NOTICES = frozenset(
    text
    for texts, keys in (
        (GATEWAY_TEXTS, ("assistant_down", "backend_down", "error")),
        (ACTION_TEXTS, ("backend_down",)),
    )
    for key in keys
    for text in texts[key].values()
)
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]*\", line \d+|\b[A-Za-z]+(Error|Exception)\b"
    r"|\b[a-z_]\w*\.[A-Z][a-z]+[A-Z]\w*"  # a qualified class name: httpx.ReadTimeout
    r"|Internal Server Error|\bstack ?trace\b|<html|\{\s*\"detail\"",
)


def looks_like_a_stack_trace(text: str) -> bool:
    """A reply a borrower must never see: a traceback, an exception's name, a raw error body."""
    return bool(_TRACE.search(text))


@dataclass
class Sent:
    """One borrower message and what became of it."""

    channel: str
    borrower: str
    text: str
    at: float  # monotonic, first sent
    answered_at: float | None = None
    notices: int = 0
    resends: int = 0  # the same message again after a notice
    transport_retries: int = 0  # the same call again after it failed on the way
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def seconds(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.at


@dataclass
class Load:
    """Everything the borrowers of one case sent and saw."""

    sent: list[Sent] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    gateway_attempts: int = 0  # calls a gateway answered, and Telegram messages posted
    duplicated_logs: int = 0

    def look_at(self, m: Sent, texts: Sequence[str]) -> str:
        """answer | notice | none, noting traces."""
        for text in texts:
            if looks_like_a_stack_trace(text):
                self.traces.append(text[:300])
        if not texts:
            return "none"
        if any(t.strip() in NOTICES for t in texts):
            m.notices += 1
            return "notice"
        return "answer"


Deadline = Callable[[], float]  # monotonic; it moves: the fault's end is not known at first


def in_seconds(seconds: float) -> Deadline:
    until = time.monotonic() + seconds
    return lambda: until


class WebBorrower:
    def __init__(
        self, client: httpx.AsyncClient, web: str, name: str, script: Sequence[str]
    ) -> None:
        self.client, self.web, self.name, self.script = client, web, name, script
        self.sender = ""
        self.auth: dict[str, str] = {}
        self.before: list[Sent] = []  # sent before the case (the link token)

    async def open(self) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                r = await self.client.post(f"{self.web}/webchat/sessions", timeout=30)
                if r.status_code in (200, 201):
                    body = r.json()
                    self.sender, self.auth = (
                        body["sender"],
                        {"Authorization": f"Bearer {body['token']}"},
                    )
                    return
            await asyncio.sleep(1)

    async def post(self, load: Load, m: Sent, deadline: Deadline) -> list[str] | None:
        """One message id, called again while the call fails on the way (or is refused for
        going too fast); the reply texts, or None when the deadline passed first or the call
        was refused for good."""
        message_id = uuid.uuid4().hex
        pause = 1.0
        while time.monotonic() < deadline():
            metadata = {"message_id": message_id}
            body = {"sender": self.sender, "message": m.text, "metadata": metadata}
            try:
                r = await self.client.post(
                    f"{self.web}/webchat/messages",
                    json=body,
                    headers=self.auth,
                    timeout=POST_TIMEOUT,
                )
            except httpx.HTTPError as exc:
                m.statuses[type(exc).__name__] += 1
            else:
                m.statuses[str(r.status_code)] += 1
                if r.status_code not in (502, 503, 504):  # nginx's: no gateway answered
                    load.gateway_attempts += 1
                if r.status_code == 200:
                    try:
                        return [str(item.get("text") or "") for item in r.json()]
                    except (ValueError, AttributeError):
                        load.traces.append(r.text[:300])
                elif 400 <= r.status_code < 500 and r.status_code != 429:
                    return None  # the page says it was not sent: a refusal, not an outage
            m.transport_retries += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 8.0)
        return None

    async def send(self, load: Load, m: Sent, deadline: Deadline) -> None:
        while time.monotonic() < deadline():
            texts = await self.post(load, m, deadline)
            if texts is None:
                return
            seen = load.look_at(m, texts)
            if seen == "answer":
                m.answered_at = time.monotonic()
                return
            if seen == "none":  # nothing now; the history is read at the end
                return
            m.resends += 1
            await asyncio.sleep(NOTICE_PAUSE_SECONDS)

    async def history(self) -> list[dict[str, Any]]:
        for _ in range(10):
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                r = await self.client.get(
                    f"{self.web}/webchat/history", headers=self.auth, timeout=30
                )
                if r.status_code == 200:
                    return list(r.json()["messages"])
            await asyncio.sleep(2)
        return []


class TelegramChats:
    """What the bot sent, chat by chat, read from the fake Bot API server's history."""

    def __init__(self, client: httpx.AsyncClient, api: str, token: str) -> None:
        self.client, self.api, self.token = client, api, token
        self.by_chat: dict[int, list[str]] = defaultdict(list)

    async def refresh(self) -> None:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            r = await self.client.post(
                f"{self.api}/getUpdatesHistory", json={"token": self.token}, timeout=30
            )
            chats: dict[int, list[str]] = defaultdict(list)
            for item in r.json()["result"]:
                message = item.get("message") or {}
                if "chat_id" in message:
                    chats[int(message["chat_id"])].append(str(message.get("text") or ""))
            self.by_chat = chats

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


class TelegramBorrower:
    def __init__(
        self, client: httpx.AsyncClient, chats: TelegramChats, user_id: int, script: Sequence[str]
    ) -> None:
        self.client, self.chats, self.user_id, self.script = client, chats, user_id, script
        self.name = f"telegram:{user_id}"
        self.user = {"id": user_id, "is_bot": False, "first_name": "Fault", "language_code": "zh"}

    async def post(self, load: Load, m: Sent, deadline: Deadline) -> bool:
        body = {
            "botToken": self.chats.token,
            "from": self.user,
            "chat": {"id": self.user_id, "type": "private", "first_name": "Fault"},
            "date": int(time.time()),
            "text": m.text,
        }
        while time.monotonic() < deadline():
            with contextlib.suppress(httpx.HTTPError):
                r = await self.client.post(f"{self.chats.api}/sendMessage", json=body, timeout=30)
                if r.status_code == 200:
                    load.gateway_attempts += 1
                    return True
            await asyncio.sleep(1)
        return False

    async def send(self, load: Load, m: Sent, deadline: Deadline) -> None:
        while time.monotonic() < deadline():
            before = len(self.chats.by_chat[self.user_id])
            if not await self.post(load, m, deadline):
                return
            new: list[str] = []
            while time.monotonic() < deadline() and not new:
                await asyncio.sleep(0.3)
                new = self.chats.by_chat[self.user_id][before:]
            await asyncio.sleep(1.5)  # the rest of the replies to it
            new = self.chats.by_chat[self.user_id][before:]
            seen = load.look_at(m, new)
            if seen == "answer":
                m.answered_at = time.monotonic()
                return
            if seen == "none":
                return
            m.resends += 1
            await asyncio.sleep(NOTICE_PAUSE_SECONDS)


Borrower = WebBorrower | TelegramBorrower


async def converse(borrower: Borrower, load: Load, stop: asyncio.Event, deadline: Deadline) -> None:
    """Message after message until `stop`; each one followed until answered or the deadline
    (the fault's end plus the grace period)."""
    for text in itertools.cycle(borrower.script):
        if stop.is_set():
            return
        channel = "webchat" if isinstance(borrower, WebBorrower) else "telegram"
        m = Sent(channel, borrower.name, text, time.monotonic())
        load.sent.append(m)
        await borrower.send(load, m, deadline)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), THINK_SECONDS * random.uniform(0.75, 1.25))


async def read_histories(load: Load, borrowers: Sequence[WebBorrower]) -> None:
    """A web chat message not answered in its call may be answered in the chat's history (a
    reply pushed later): an answer after it and before the chat's next message counts. And
    every message id is in the history once."""
    for b in borrowers:
        history = await b.history()
        mine = [m for m in load.sent if m.borrower == b.name]
        load.duplicated_logs += _logged_twice(history, [*b.before, *mine])
        for m, answered in _answers_in(history, mine):
            if m.answered_at is None and answered:
                m.answered_at = time.monotonic()
        for text in (str(h.get("text") or "") for h in history if h.get("from") != "borrower"):
            if looks_like_a_stack_trace(text):
                load.traces.append(text[:300])


def _answers_in(history: list[dict[str, Any]], mine: list[Sent]) -> list[tuple[Sent, bool]]:
    """The borrower's messages matched to the history's (the last 100 messages: matched from
    the end, by text; a re-send after a notice folded into the message it repeats), each with
    whether an answer followed it before the next one."""
    turns: list[tuple[str, bool]] = []
    for item in history:
        text = str(item.get("text") or "")
        if item.get("from") == "borrower":
            if turns and turns[-1][0] == text and not turns[-1][1]:
                continue  # the same text again: a re-send
            turns.append((text, False))
        elif turns and text.strip() not in NOTICES:
            turns[-1] = (turns[-1][0], True)
    matched: list[tuple[Sent, bool]] = []
    at = len(turns)
    for m in reversed(mine):
        found = next((i for i in range(at - 1, -1, -1) if turns[i][0] == m.text), None)
        if found is not None:
            matched.append((m, turns[found][1]))
            at = found
    return matched


def _logged_twice(history: list[dict[str, Any]], mine: list[Sent]) -> int:
    """Borrower messages in the history beyond the ones sent and re-sent."""
    logged = sum(1 for item in history if item.get("from") == "borrower")
    expected = sum(1 + m.resends for m in mine)
    return max(0, logged - expected)
