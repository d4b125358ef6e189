"""The fault matrix: `make run-prod`'s topology (bench/topology.py starts it, Telegram and
metrics on) with borrowers talking to it through nginx on the web chat and on Telegram, while
one fault at a time hits it:

  rasa       kill -9 of a Rasa replica (the supervisor starts it again, as compose would)
  gateway    kill -9 of a gateway replica
  backend    kill -9 of a backend replica
  postgres   PostgreSQL restarted (pg_ctl restart -m fast)
  redis      Redis stopped for 30 s, then started again
  actions    both action servers answering in up to 5 s for 60 s (SIGSTOP/SIGCONT cycles)
  telegram   the Bot API answering 429 (retry after 1 s) for 30 s, then 502 for 30 s

For each it prints what the borrowers saw and what the replicas' Prometheus metrics counted.
It is not a test (tests/prod/test_fault_matrix.py runs it shorter and asserts on it).

    .venv/bin/python -m bench.fault_matrix [--cases rasa,redis] [--short] [--state DIR]

What the figures mean:
- sent: borrower messages typed during the case (a re-send after a notice is not another one);
- answered: the assistant's answer to it arrived: in the web chat call's response, in the
  chat's history, or on Telegram; a "try again shortly" notice is not an answer: like a
  borrower, the load generator sends the message again a few seconds after one, and the
  message is answered when an answer to it (or to its re-send) arrives;
- late: answered more than LATE_SECONDS after it was first sent;
- lost: no answer within GRACE_SECONDS after the fault ended;
- notices: "try again shortly" replies shown (the gateway's and the actions');
- traces: replies that look like a stack trace or an exception (must be 0);
- a web chat call that fails on the way (connection refused or reset, nginx's 502/503/504, no
  answer in 60 s) is sent again with the same message id, as the page does; the backend logs
  a message id once (`dup logs` counts messages logged twice in a borrower's history).
The metrics columns are increases over the case, summed over the replicas' /metrics, a counter
that starts again from 0 (a killed replica restarted) counted from there; a killed replica's
last second before the kill is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from actions.messages import TEXTS as ACTION_TEXTS
from bench.chat_load import CONVERSATIONS
from bench.topology import Topology, TopologyFailed, running
from bot.texts import TEXTS as GATEWAY_TEXTS

LATE_SECONDS = 10.0
GRACE_SECONDS = 60.0
WARM_SECONDS = 5.0  # load before the fault
RECOVERY_SECONDS = 10.0  # load after it
THINK_SECONDS = 2.0  # between a borrower's answer and its next message (the web chat allows
# 30 a minute per chat)
NOTICE_PAUSE_SECONDS = 3.0  # a borrower shown "try again shortly" tries again after this
POST_TIMEOUT = 60.0  # as the web chat page
SCRAPE_SECONDS = 1.0

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
VERIFIED_SCRIPT = ("我还欠多少钱", "什么时候到期", "查一下还款记录", "谢谢")


def looks_like_a_stack_trace(text: str) -> bool:
    """A reply a borrower must never see: a traceback, an exception's name, a raw error body."""
    return bool(_TRACE.search(text))


# ---- the borrowers' side -----------------------------------------------------------------------


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


# ---- the replicas' metrics ---------------------------------------------------------------------

Key = tuple[str, tuple[tuple[str, str], ...]]  # a counter's name and labels
Counts = defaultdict[Key, float]
COUNTED = (
    "gateway_messages_received_total",
    "gateway_replies_sent_total",
    "gateway_rasa_errors_total",
    "gateway_rasa_retries_total",
    "gateway_telegram_send_retries_total",
    "gateway_outbound_deliveries_total",
    "backend_http_server_errors_total",
)


class Metrics:
    """Every gateway's and backend's /metrics, scraped every SCRAPE_SECONDS: increases of the
    counters above, summed over replicas. A replica whose process started again (its
    process_start_time_seconds changed) counts from 0."""

    def __init__(self, top: Topology, client: httpx.AsyncClient) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {top.metrics_token}"}
        self.targets = {
            r.name: f"http://127.0.0.1:{top.port(r.name)}/metrics"
            for service in ("gateway", "backend")
            for r in top.replicas(service)
        }
        self.last: dict[str, dict[Key, float]] = {}
        self.started: dict[str, float] = {}
        self.totals: Counts = defaultdict(float)
        self.failed_scrapes = 0

    async def scrape(self, name: str, url: str) -> None:
        try:
            r = await self.client.get(url, headers=self.auth, timeout=5)
            r.raise_for_status()
        except httpx.HTTPError:
            self.failed_scrapes += 1
            return
        now: dict[Key, float] = {}
        start = 0.0
        for family in text_string_to_metric_families(r.text):
            for sample in family.samples:
                if sample.name == "process_start_time_seconds":
                    start = sample.value
                elif sample.name in COUNTED:
                    now[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        before = self.last.get(name)
        if before is not None:
            restarted = self.started.get(name) != start
            for key, grown in increases(before, now, restarted=restarted).items():
                self.totals[key] += grown
        self.last[name], self.started[name] = now, start

    async def once(self) -> None:
        await asyncio.gather(*(self.scrape(n, u) for n, u in self.targets.items()))

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCRAPE_SECONDS)

    def snapshot(self) -> Counts:
        return defaultdict(float, self.totals)


def increases(
    before: dict[Key, float], now: dict[Key, float], *, restarted: bool
) -> dict[Key, float]:
    """How much each counter grew between two scrapes of one replica, as Prometheus's
    increase() counts it: a counter lower than before started again from 0, and so did every
    counter of a process that started again (even one already past its old value)."""
    grown = {}
    for key, value in now.items():
        previous = 0.0 if restarted else before.get(key, 0.0)
        grown[key] = value - previous if value >= previous else value
    return grown


def total(counts: Counts, name: str, **labels: str) -> float:
    return sum(
        v
        for (n, key), v in counts.items()
        if n == name and all(dict(key).get(k) == want for k, want in labels.items())
    )


# ---- the faults --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    kill_after: float = 30.0  # load after a kill
    redis_down: float = 30.0
    actions_slow: float = 60.0
    action_delay: float = 5.0
    telegram_429: float = 30.0
    telegram_5xx: float = 30.0


SHORT = Timing(
    kill_after=15.0, redis_down=30.0, actions_slow=20.0, telegram_429=12.0, telegram_5xx=12.0
)

Fault = Callable[[Topology, Timing], Awaitable[str]]


def _kill(name: str) -> Fault:
    async def fault(top: Topology, timing: Timing) -> str:
        pid = top.signal(name, signal.SIGKILL)
        await asyncio.sleep(timing.kill_after)
        return f"pid {pid} killed; supervisor restarted it as pid {top.pid(name)}"

    return fault


async def _restart_postgres(top: Topology, timing: Timing) -> str:
    started = time.monotonic()
    await asyncio.to_thread(top.postgres.restart)
    took = time.monotonic() - started
    await asyncio.sleep(5)
    return f"pg_ctl restart -m fast took {took:.1f} s"


async def _stop_redis(top: Topology, timing: Timing) -> str:
    redis = top.redis
    await asyncio.to_thread(redis.stop)
    try:
        await asyncio.sleep(timing.redis_down)
    finally:
        await asyncio.to_thread(redis.start)
    return f"down {timing.redis_down:.0f} s"


async def _slow_actions(top: Topology, timing: Timing) -> str:
    names = [r.name for r in top.replicas("actions")]
    cycles = 0
    ends = time.monotonic() + timing.actions_slow
    try:
        while time.monotonic() < ends:
            for n in names:
                top.signal(n, signal.SIGSTOP)
            await asyncio.sleep(timing.action_delay)
            for n in names:
                top.signal(n, signal.SIGCONT)
            cycles += 1
            await asyncio.sleep(0.2)
    finally:
        for n in names:
            top.signal(n, signal.SIGCONT)
    return f"{cycles} cycles of {timing.action_delay:.0f} s stopped"


async def _telegram_failing(top: Topology, timing: Timing) -> str:
    fake = top.telegram
    if fake is None:
        raise TopologyFailed("the telegram case needs Telegram on in the topology")
    await asyncio.to_thread(fake.fail, 429, timing.telegram_429, 1)
    await asyncio.sleep(timing.telegram_429)
    await asyncio.to_thread(fake.fail, 502, timing.telegram_5xx)
    await asyncio.sleep(timing.telegram_5xx)
    await asyncio.to_thread(fake.fail, 0, 0)
    return f"429 for {timing.telegram_429:.0f} s, then 502 for {timing.telegram_5xx:.0f} s"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    fault: Fault


CASES = (
    Case("rasa", "kill -9 of a Rasa replica", _kill("rasa-1")),
    Case("gateway", "kill -9 of a gateway replica", _kill("gateway-1")),
    Case("backend", "kill -9 of a backend replica", _kill("backend-1")),
    Case("postgres", "PostgreSQL restarted", _restart_postgres),
    Case("redis", "Redis stopped, started again", _stop_redis),
    Case("actions", "action servers answering in 5 s", _slow_actions),
    Case("telegram", "Bot API 429, then 5xx", _telegram_failing),
)


# ---- one case, then the matrix -----------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    note: str
    load: Load
    metrics: Counts
    seconds: float

    @property
    def answered(self) -> list[Sent]:
        return [m for m in self.load.sent if m.answered_at is not None]

    @property
    def late(self) -> list[Sent]:
        return [m for m in self.answered if (m.seconds or 0) > LATE_SECONDS]

    @property
    def lost(self) -> list[Sent]:
        return [m for m in self.load.sent if m.answered_at is None]

    @property
    def slowest(self) -> float | None:
        return max((m.seconds or 0 for m in self.answered), default=None)


@dataclass(frozen=True)
class LoadShape:
    web: int = 6
    telegram: int = 2
    verified: Sequence[str] = ()  # borrower refs: one web chat linked to each


async def link_token(client: httpx.AsyncClient, top: Topology, ref: str) -> str:
    r = await client.post(
        f"{top.http}/api/v1/borrowers/{ref}/link-tokens",
        headers={"Authorization": f"Bearer {top.backend_env['SERVICE_TOKEN']}"},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["token"])


async def borrowers_for(
    client: httpx.AsyncClient, top: Topology, shape: LoadShape, chats: TelegramChats | None
) -> list[Borrower]:
    web: list[WebBorrower] = []
    for i in range(shape.web):
        verified = i < len(shape.verified)
        script = VERIFIED_SCRIPT if verified else CONVERSATIONS[i % len(CONVERSATIONS)]
        b = WebBorrower(client, top.web, f"webchat:{i}", script)
        await b.open()
        if verified:  # linked before the clock starts
            token = await link_token(client, top, shape.verified[i])
            m = Sent("webchat", b.name, f"/start {token}", time.monotonic())
            await b.send(Load(), m, in_seconds(120))
            b.before.append(m)
        web.append(b)
    tele: list[Borrower] = []
    if chats is not None:
        for i in range(shape.telegram):
            user_id = random.randint(10**8, 10**9)
            script = CONVERSATIONS[(i + 2) % len(CONVERSATIONS)]
            tele.append(TelegramBorrower(client, chats, user_id, script))
    return [*web, *tele]


async def run_case(
    top: Topology, case: Case, timing: Timing, shape: LoadShape, say: Callable[[str], None]
) -> Outcome:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    async with httpx.AsyncClient(limits=limits) as client:
        chats = (
            TelegramChats(client, top.telegram.url, top.telegram.token)
            if top.telegram is not None and shape.telegram
            else None
        )
        borrowers = await borrowers_for(client, top, shape, chats)
        metrics = Metrics(top, client)
        await metrics.once()
        stop, scraping = asyncio.Event(), asyncio.Event()
        load = Load()
        fault_end: list[float] = []

        def deadline() -> float:
            return (fault_end[0] if fault_end else time.monotonic() + 3600) + GRACE_SECONDS

        background = [asyncio.create_task(metrics.follow(scraping))]
        if chats is not None:
            background.append(asyncio.create_task(chats.follow(scraping)))
        before = metrics.snapshot()
        began = time.monotonic()
        talking = [asyncio.create_task(converse(b, load, stop, deadline)) for b in borrowers]
        await asyncio.sleep(WARM_SECONDS)
        say(f"[{case.name}] {case.title}: fault on")
        note = await case.fault(top, timing)
        fault_end.append(time.monotonic())
        say(f"[{case.name}] fault over ({note}); {RECOVERY_SECONDS:.0f} s more load")
        await asyncio.sleep(RECOVERY_SECONDS)
        stop.set()
        await asyncio.gather(*talking)
        web = [b for b in borrowers if isinstance(b, WebBorrower)]
        await read_histories(load, web)
        await asyncio.sleep(2 * SCRAPE_SECONDS)  # the last replies counted
        scraping.set()
        await asyncio.gather(*background)
        await metrics.once()
        after = metrics.snapshot()
        grown: Counts = defaultdict(float, {k: v - before[k] for k, v in after.items()})
        return Outcome(case, note, load, grown, time.monotonic() - began)


def _n(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(outcomes: Sequence[Outcome]) -> list[str]:
    head = (
        f"{'case':<9} {'fault':<34} {'sent':>5} {'answered':>8} {'late':>5} {'lost':>5} "
        f"{'slowest s':>9} {'notices':>7} {'retries':>7} {'traces':>6} {'dup logs':>8}"
    )
    lines = [head, "-" * len(head)]
    for o in outcomes:
        retries = sum(m.transport_retries for m in o.load.sent)
        lines.append(
            f"{o.case.name:<9} {o.case.title:<34} {len(o.load.sent):>5} {len(o.answered):>8} "
            f"{len(o.late):>5} {len(o.lost):>5} {_n(o.slowest):>9} "
            f"{sum(m.notices for m in o.load.sent):>7} {retries:>7} {len(o.load.traces):>6} "
            f"{o.load.duplicated_logs:>8}"
        )
    return lines


def format_metrics(outcomes: Sequence[Outcome]) -> list[str]:
    head = (
        f"{'case':<9} {'gw calls':>8} {'received':>8} {'answered':>8} {'asst down':>9} "
        f"{'kept':>5} {'duplicate':>9} {'replies':>7} {'rasa err':>8} {'rasa retry':>10} "
        f"{'tg retry':>8} {'backend 5xx':>11}"
    )
    lines = [head, "-" * len(head)]
    for o in outcomes:
        c = o.metrics
        received = "gateway_messages_received_total"

        def outcome(name: str, c: Counts = c, received: str = received) -> int:
            return round(total(c, received, outcome=name))

        lines.append(
            f"{o.case.name:<9} {o.load.gateway_attempts:>8} {round(total(c, received)):>8} "
            f"{outcome('answered'):>8} {outcome('assistant_down'):>9} {outcome('kept'):>5} "
            f"{outcome('duplicate'):>9} {round(total(c, 'gateway_replies_sent_total')):>7} "
            f"{round(total(c, 'gateway_rasa_errors_total')):>8} "
            f"{round(total(c, 'gateway_rasa_retries_total')):>10} "
            f"{round(total(c, 'gateway_telegram_send_retries_total')):>8} "
            f"{round(total(c, 'backend_http_server_errors_total')):>11}"
        )
    return lines


def format_details(outcomes: Sequence[Outcome]) -> list[str]:
    """What went wrong, message by message: the lost ones and the traces."""
    lines: list[str] = []
    for o in outcomes:
        for m in o.lost:
            lines.append(
                f"[{o.case.name}] lost: {m.channel} {m.text!r} notices {m.notices}, "
                f"re-sent {m.resends}, calls {dict(m.statuses)}"
            )
        for text in o.load.traces:
            lines.append(f"[{o.case.name}] trace shown: {text!r}")
        kinds = {
            f"{dict(key).get('call')}/{dict(key).get('kind')}": round(v)
            for (name, key), v in o.metrics.items()
            if name == "gateway_rasa_errors_total" and v
        }
        if kinds:
            lines.append(f"[{o.case.name}] gateway_rasa_errors_total: {kinds}")
    return lines


async def run_matrix(
    top: Topology,
    cases: Sequence[Case] = CASES,
    *,
    timing: Timing = Timing(),
    shape: LoadShape = LoadShape(),
    say: Callable[[str], None] = print,
) -> list[Outcome]:
    outcomes = []
    for i, case in enumerate(cases):
        if i:
            healed = await asyncio.to_thread(top.wait_until_healthy)
            say(f"every replica healthy again ({healed:.0f} s)")
        outcome = await run_case(top, case, timing, shape, say)
        say(
            f"[{case.name}] {len(outcome.load.sent)} sent, {len(outcome.answered)} answered, "
            f"{len(outcome.lost)} lost in {outcome.seconds:.0f} s"
        )
        outcomes.append(outcome)
    return outcomes


def report(outcomes: Sequence[Outcome]) -> str:
    return "\n".join(
        [
            f"Borrowers (late: answered after {LATE_SECONDS:.0f} s; lost: no answer "
            f"{GRACE_SECONDS:.0f} s after the fault ended):",
            *format_table(outcomes),
            "",
            "Metrics (increases over each case, all replicas):",
            *format_metrics(outcomes),
            *(["", *format_details(outcomes)] if format_details(outcomes) else []),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [c.name for c in CASES]
    parser.add_argument(
        "--cases",
        default=",".join(names),
        help=f"which, in this order (default: all: {','.join(names)})",
    )
    parser.add_argument("--short", action="store_true", help="shorter faults (as the test runs)")
    parser.add_argument("--state", type=Path, help="the topology's folder (default: a new one)")
    parser.add_argument("--web", type=int, default=6, help="web chat borrowers (default 6)")
    parser.add_argument("--telegram", type=int, default=2, help="Telegram borrowers (default 2)")
    args = parser.parse_args(argv)
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(names)}")
    cases = [next(c for c in CASES if c.name == n) for n in chosen]
    state = args.state or Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    print(f"starting make run-prod's topology in {state} (a few minutes)", flush=True)
    try:
        with running(state) as top:
            print(f"ready; borrowers through {top.web}", flush=True)
            top.backend_cli("generate", "--borrowers", "4", "--seed", "7")
            shape = LoadShape(web=args.web, telegram=args.telegram, verified=("G00000001",))
            outcomes = asyncio.run(
                run_matrix(
                    top,
                    cases,
                    timing=SHORT if args.short else Timing(),
                    shape=shape,
                    say=lambda line: print(line, flush=True),
                )
            )
    except TopologyFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    print()
    print(report(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
