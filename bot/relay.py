"""One path for every channel: log the borrower's message with the backend, route it by the
conversation's mode (bot: Rasa; human: the collector reads it in the console), log the
assistant's replies, and answer honestly when something behind the gateway fails.

The borrower does not wait for the replies to be logged: they are written to the spool on
this gateway's disk first, answered, then logged a moment later with the other turns of that
moment (turn_log.py; `settle` sends them at once and waits). The transcript orders them by the
time the assistant answered, not by when they landed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
import unicodedata
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import metrics, request_ids, texts
from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable, Inbound
from bot.clock import utcnow
from bot.commands import Translated, translate
from bot.rasa_client import Answer, RasaClient, RasaUnavailable
from bot.spool import Spool
from bot.turn_log import Turn, TurnLog

log = logging.getLogger(__name__)

OPT_OUT_PAYLOAD = "/stop_contact"


@dataclass(frozen=True, slots=True)
class Incoming:
    channel: str  # telegram | webchat
    user_id: str
    text: str  # what goes to the assistant (a command, a payload, typed text)
    external_id: str | None = None  # the channel's id for it: a repeat is answered once
    sent_at: datetime | None = None
    kind: str = "text"  # text | button | contact | command
    shown: str | None = None  # what the transcript shows, when not the text (a button's title)
    app_language: str | None = None  # the language of the borrower's app, a last resort
    language_choice: str | None = None  # picked on the channel (the web page's language button)

    @property
    def sender(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(slots=True)
class Reply:
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)
    custom: dict[str, Any] | None = None  # e.g. {"request_contact": true}
    message_id: int | None = None  # its transcript id, once logged: buttons refer to it
    external_id: str | None = None  # the id it is logged under: buttons refer to it before


@dataclass(slots=True)
class Outcome:
    replies: list[Reply]
    language: str
    duplicate: bool = False
    mode: str = "bot"
    kept: bool = False  # the backend was down: the message waits in the spool
    # What became of the message, for the metrics and the log (bot/metrics.py names them).
    result: str = "answered"


class Relay:
    def __init__(
        self,
        backend: BackendClient,
        rasa: RasaClient,
        spool: Spool,
        turn_log: TurnLog | None = None,
    ) -> None:
        self.backend = backend
        self.rasa = rasa
        self.spool = spool
        self.turn_log = turn_log or TurnLog(backend, spool)
        # One turn at a time per chat: Rasa's answer and the NLU of a message belong together.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._logging: dict[str, set[asyncio.Task[None]]] = {}  # turns being logged, by chat

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def settle(self, sender: str | None = None) -> None:
        """Wait until the replies given so far (to this chat, or to all) are logged or kept."""
        while tasks := (
            self._logging.get(sender, set())
            if sender is not None
            else set().union(*self._logging.values())
        ):
            await asyncio.sleep(0)  # a turn's task made a moment ago queues its turn first
            self.turn_log.hurry()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(self, incoming: Incoming) -> Outcome:
        if incoming.external_id is None:
            # An id of our own: a message the backend took but answered too late to be seen is
            # not logged twice when the spool replays it.
            incoming = dataclasses.replace(incoming, external_id=f"g{uuid.uuid4().hex}")
        with request_ids.scope():  # the web chat call's id, or a new one (Telegram)
            started = time.perf_counter()
            with metrics.MESSAGES_IN_PROGRESS.labels(incoming.channel).track_inprogress():
                async with self._lock(incoming.sender):
                    outcome = await self._handle(incoming)
            ms = (time.perf_counter() - started) * 1000
            metrics.MESSAGES_RECEIVED.labels(incoming.channel, outcome.result).inc()
            # Kinds and counts only: the words, the chat and the borrower stay out of the logs.
            log.info(
                "%s message: %s, %d replies, %.0f ms",
                incoming.channel,
                outcome.result,
                len(outcome.replies),
                ms,
                extra={
                    "channel": incoming.channel,
                    "outcome": outcome.result,
                    "replies": len(outcome.replies),
                    "duration_ms": round(ms, 1),
                },
            )
            return outcome

    async def _handle(self, incoming: Incoming) -> Outcome:
        # A shared contact is the gateway's own payload (Telegram vouched for the number);
        # everything else, a button's payload included, is read as a command or payload here:
        # a web chat client can send any payload and call it a button.
        translated = translate(incoming.text) if incoming.kind != "contact" else None
        shown = incoming.shown or (translated.logged if translated else incoming.text)
        sent_at = incoming.sent_at or utcnow()
        to_rasa = translated.to_rasa if translated else incoming.text
        message = {
            "text": shown,
            "external_id": incoming.external_id,
            "sent_at": sent_at.isoformat(),
            "kind": incoming.kind,
        }
        if to_rasa is not None:
            # Rasa's channel logs the message with the backend while its NLU reads it, and
            # runs the turn once the backend says the bot has the chat (nlu/channels.py).
            try:
                answered = await self.rasa.turn(
                    incoming.sender,
                    to_rasa,
                    _metadata(incoming),
                    turn_id=incoming.external_id,
                    inbound=message,
                )
            except RasaUnavailable:
                return await self._without_rasa(incoming, shown, sent_at)
            if answered.inbound is None:  # a channel that does not log (Rasa's own) ran it
                return await self._logged_after(incoming, shown, sent_at, answered)
            if (by_rasa := _inbound_of(answered.inbound)) is not None:
                if by_rasa.mode == "bot" and not by_rasa.opted_out:
                    lang = _language(incoming, by_rasa)
                    return await self._turn_answered(incoming, lang, by_rasa, answered)
                return await self._route(incoming, translated, by_rasa)
        # Not for Rasa (an unknown command), or the backend did not answer Rasa: the gateway
        # logs the message itself, with its retries, and keeps it while the backend is down.
        logged = await self._log_inbound(incoming, shown, sent_at)
        if not isinstance(logged, Inbound):
            return logged
        return await self._route(incoming, translated, logged)

    async def _log_inbound(
        self, incoming: Incoming, shown: str, sent_at: datetime
    ) -> Inbound | Outcome:
        """The backend's answer for the message; else what the borrower is told (the message
        is kept in the spool while the backend is down)."""
        try:
            return await self.backend.inbound(
                incoming.channel,
                incoming.user_id,
                text=shown,
                external_id=incoming.external_id,
                sent_at=sent_at,
                kind=incoming.kind,
            )
        except BackendUnavailable as exc:
            return await self._keep(incoming, shown, sent_at, exc)
        except BackendRefused as exc:  # a bug, not an outage: say so, do not retry for ever
            log.error("backend refused an inbound %s message: %s", incoming.channel, exc)
            lang = texts.language_of(incoming.text, app=incoming.app_language)
            return Outcome([Reply(texts.say("error", lang))], lang, result="refused")

    async def _logged_after(
        self, incoming: Incoming, shown: str, sent_at: datetime, answered: Answer
    ) -> Outcome:
        inbound = await self._log_inbound(incoming, shown, sent_at)
        if not isinstance(inbound, Inbound):
            return inbound
        lang = _language(incoming, inbound)
        return await self._turn_answered(incoming, lang, inbound, answered)

    async def _without_rasa(self, incoming: Incoming, shown: str, sent_at: datetime) -> Outcome:
        """Rasa could not be reached: the message is logged (Rasa's channel may not have got
        to it) and the borrower told, unless a collector has the chat."""
        log.warning("Rasa unavailable; %s message kept in the transcript", incoming.channel)
        inbound = await self._log_inbound(incoming, shown, sent_at)
        if not isinstance(inbound, Inbound):
            return inbound
        lang = _language(incoming, inbound)
        if inbound.mode == "human":
            return _with_collector(inbound, lang)
        down = [Reply(texts.say("assistant_down", lang))]
        return await self._answer(incoming, lang, down, result="assistant_down")

    async def _route(
        self, incoming: Incoming, translated: Translated | None, inbound: Inbound
    ) -> Outcome:
        """A message the backend has logged, routed by what it said: to the collector who has
        the chat, to the opt-out's confirmation, or to Rasa (when Rasa has not run it yet)."""
        lang = _language(incoming, inbound)
        if inbound.mode == "human":  # a collector has the chat: it reads this in the console
            return _with_collector(inbound, lang)
        to_rasa = translated.to_rasa if translated else incoming.text
        metadata = _metadata(incoming)
        if inbound.arm_key:  # which wording of a text under experiment (actions/messages.py)
            metadata["arm"] = inbound.arm_key
        if inbound.opted_out:
            # The backend read an opt-out word in any form ("ｓｔｏｐ", "Stop.", "退订", "TD")
            # and has opted the chat out: the assistant confirms it the one way it knows, in
            # the language the word says, unless the chat already speaks another.
            to_rasa = OPT_OUT_PAYLOAD
            if (written := opt_out_language(incoming.text, inbound.language)) is not None:
                metadata["written_in"] = written
        if to_rasa is None:
            unknown = [Reply(texts.say("unknown_command", lang))]
            return await self._answer(incoming, lang, unknown, result="unknown_command")

        # A repeat (the page sent it again after its call failed; Telegram delivered it again)
        # may never have been answered: the gateway that had it died. It goes to Rasa again,
        # marked so: Rasa answers it from the tracker if it ran it, else runs it now.
        try:
            answered = await self.rasa.turn(
                incoming.sender,
                to_rasa,
                metadata,
                turn_id=incoming.external_id,
                again=inbound.duplicate,
            )
        except RasaUnavailable:
            log.warning("Rasa unavailable; %s message kept in the transcript", incoming.channel)
            down = [Reply(texts.say("assistant_down", lang))]
            return await self._answer(incoming, lang, down, result="assistant_down")
        return await self._turn_answered(incoming, lang, inbound, answered)

    async def _turn_answered(
        self, incoming: Incoming, lang: str, inbound: Inbound, answered: Answer
    ) -> Outcome:
        repeat = inbound.duplicate
        return await self._answer(
            incoming,
            lang,
            _replies(answered.replies),
            result="duplicate" if repeat else "answered",
            of_turn=inbound.message_id,
            # A repeat's reading is stored already, with the message's first turn.
            reading=None if repeat else _reading(answered.reading),
        )

    async def _keep(
        self, incoming: Incoming, shown: str, sent_at: datetime, exc: BackendUnavailable
    ) -> Outcome:
        log.warning("backend unavailable (%s); %s message kept", exc, incoming.channel)
        lang = texts.language_of(incoming.text, app=incoming.app_language)
        reply = texts.say("backend_down", lang)
        await self.spool.keep(
            incoming.channel,
            incoming.user_id,
            [
                {
                    "sender": "borrower",
                    "text": shown,
                    "external_id": incoming.external_id,
                    "sent_at": sent_at.isoformat(),
                },
                {"sender": "bot", "text": reply, "sent_at": utcnow().isoformat()},
            ],
        )
        return Outcome([Reply(reply)], lang, kept=True, result="kept")

    async def _answer(
        self,
        incoming: Incoming,
        lang: str,
        replies: list[Reply],
        result: str = "answered",
        *,
        of_turn: int | None = None,
        reading: dict[str, Any] | None = None,
    ) -> Outcome:
        """Log the replies in the transcript (their ids let Telegram buttons stay short). The
        assistant's replies to a turn (`of_turn`: the borrower message's transcript id) are
        logged with what the NLU understood of the message (`reading`), in one call, under ids
        made from the message's: a repeat answered again, or a batch the spool sends again, is
        logged once. The reading is best effort: when the backend cannot take it now, the
        replies wait in the spool without it."""
        bodies: list[dict[str, Any]] = [
            {"sender": "bot", "text": r.text, "buttons": r.buttons or None}
            for r in replies
            if r.text or r.buttons
        ]
        if of_turn is not None and incoming.external_id:
            answered_at = utcnow().isoformat()
            for i, body in enumerate(bodies):
                body["external_id"] = reply_id(incoming.external_id, i)
                body["sent_at"] = answered_at
            if await self._log_later(incoming, of_turn, reading, bodies):
                refs = iter([str(body["external_id"]) for body in bodies])
                for r in replies:
                    if r.text or r.buttons:
                        r.external_id = next(refs)
                return Outcome(replies, lang, duplicate=result == "duplicate", result=result)
        if bodies or reading is not None:
            try:
                if of_turn is not None:
                    logged = await self.backend.log_turn(
                        incoming.channel, incoming.user_id, of_turn, reading=reading, replies=bodies
                    )
                else:
                    logged = await self.backend.log_messages(
                        incoming.channel, incoming.user_id, bodies
                    )
                ids = iter(logged)
                for r in replies:
                    if r.text or r.buttons:
                        r.message_id = next(ids)
            except (BackendUnavailable, BackendRefused) as exc:
                log.warning("replies not logged now (%s); kept for later", exc)
                if bodies:
                    await self.spool.keep(incoming.channel, incoming.user_id, bodies)
        return Outcome(replies, lang, duplicate=result == "duplicate", result=result)

    async def _log_later(
        self,
        incoming: Incoming,
        of_turn: int,
        reading: dict[str, Any] | None,
        bodies: list[dict[str, Any]],
    ) -> bool:
        """Write the turn's replies ahead to the spool and log them in a task of their own;
        False when the spool cannot take them (they are then logged before the answer)."""
        if not bodies and reading is None:
            return True
        turn = {"message_id": of_turn, "reading": reading}
        try:
            row = await self.spool.write_ahead(incoming.channel, incoming.user_id, bodies, turn)
        except sqlite3.Error as exc:
            log.error("the spool cannot take a turn's replies (%s); logging them now", exc)
            return False
        task = asyncio.create_task(self._log_turn(row, incoming, turn, bodies))
        chat = self._logging.setdefault(incoming.sender, set())
        chat.add(task)

        def forget(done: asyncio.Task[None]) -> None:
            chat.discard(done)
            if not chat and self._logging.get(incoming.sender) is chat:
                del self._logging[incoming.sender]

        task.add_done_callback(forget)
        return True

    async def _log_turn(
        self, row: int, incoming: Incoming, turn: dict[str, Any], bodies: list[dict[str, Any]]
    ) -> None:
        await self.turn_log.log(
            Turn(
                row,
                incoming.channel,
                incoming.user_id,
                turn["message_id"],
                reading=turn["reading"],
                replies=bodies,
            )
        )


def _language(incoming: Incoming, inbound: Inbound) -> str:
    """The language of the gateway's own words to this message, the chat's first."""
    return texts.language_of(
        incoming.text, conversation=inbound.language, app=incoming.app_language
    )


def _inbound_of(logged: dict[str, Any]) -> Inbound | None:
    """The backend's answer as Rasa's channel passed it on; None when it had none (the
    channel's {"error": ...}) or it is not one."""
    if "error" in logged:
        return None
    try:
        return Inbound.of(logged)
    except (KeyError, TypeError):
        log.error("Rasa's channel passed on an answer to /inbound that is not one")
        return None


def _with_collector(inbound: Inbound, lang: str) -> Outcome:
    repeat = inbound.duplicate
    return Outcome(
        [], lang, duplicate=repeat, mode="human", result="duplicate" if repeat else "human"
    )


def reply_id(external_id: str, index: int) -> str:
    """The transcript id of the assistant's `index`-th reply to the message `external_id`."""
    return f"{external_id}:r{index}"


def _replies(answered: list[dict[str, Any]]) -> list[Reply]:
    """Rasa's REST output to replies; a custom message joins the reply before it."""
    replies: list[Reply] = []
    for item in answered:
        text = item.get("text") or ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
        ]
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
        if not text and not buttons and custom is not None and replies:
            replies[-1].custom = custom
            continue
        if text or buttons:
            replies.append(Reply(text, buttons, custom))
    return replies


def _metadata(incoming: Incoming) -> dict[str, Any]:
    """What the channel knows that the words do not say (the actions read it)."""
    metadata: dict[str, Any] = {"channel": incoming.channel}
    if (request_id := request_ids.current()) is not None:
        metadata[request_ids.METADATA_KEY] = request_id  # the actions send it to the backend
    app = (incoming.app_language or "").lower()[:2]
    if app in ("zh", "en"):
        metadata["language"] = app
    if incoming.language_choice in ("zh", "en"):
        metadata["language_choice"] = incoming.language_choice
    return metadata


def _reading(reading: dict[str, Any] | None) -> dict[str, Any] | None:
    """The NLU reading as the backend takes it (intent, confidence 0..1, entities); None when
    Rasa gave none."""
    if not reading or not reading.get("intent"):
        return None
    entities = [
        {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor")}
        for e in reading.get("entities") or []
        if isinstance(e, dict)
    ]
    return {
        "intent": str(reading["intent"])[:100],
        "confidence": _clamp(reading.get("confidence")),
        "entities": entities,
    }


def _clamp(value: Any) -> float | None:
    try:
        return min(1.0, max(0.0, float(value)))
    except (TypeError, ValueError):
        return None


def opt_out_language(word: str, conversation: str | None) -> str | None:
    """The language an opt-out word claims for its confirmation; None lets the chat decide.
    Chinese characters say Chinese. "TD", the Chinese SMS code, says nothing. Other Latin
    words ("STOP", "ｓｔｏｐ") say English, except in a chat that already speaks Chinese: a
    Chinese borrower typing STOP is still answered in Chinese."""
    if texts.script_of(word) == "zh":
        return "zh"
    if unicodedata.normalize("NFKC", word).strip(" .!。！").upper() == "TD":
        return None
    return None if conversation == "zh" else "en"
