"""Borrower messages logged with the backend together: one call (`POST /api/v1/inbound`) for
the messages that reach the channel together, instead of one call each (channels.py logs every
message the gateway sends it through here).

A call to the backend costs Rasa's event loop about half a millisecond of CPU whatever it
carries (aiohttp builds the request, reads the answer, wakes the loop for it), and the event
loop is what every borrower's turn waits for: under load it was most of what the gateway's
path cost Rasa beyond Rasa alone (bench/RESULTS.md). Messages read in the same few turns of the
loop go in one call; a message alone goes alone, as soon as it came, so one borrower waits no
longer. The backend logs and answers each message as its own call would, with its own result:
one it refuses or could not log does not hold up the others (backend/conversations/
inbound_batches.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from parses import joined  # beside this file, as Rasa runs it

log = logging.getLogger(__name__)

MOST = 64  # the backend's MAX_MESSAGES


def unavailable() -> dict[str, Any]:
    return {"error": "unavailable"}  # a dict of its own for each message


@dataclass
class _Logging:
    message: dict[str, Any]  # channel, user_id, the backend's InboundMessage, request_id
    sent: asyncio.Event | None  # set once the call carrying it is written
    answer: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InboundLog:
    """`await log(message)`: the backend's answer for that message, as its own `/inbound` call
    would give it, or {"error": "unavailable"} (no answer, 5xx, nonsense) or {"error":
    "refused", "status": N} (refused: 4xx)."""

    def __init__(
        self,
        backend_url: str,
        service_token: str,
        session: Callable[[], aiohttp.ClientSession],
        most: int = MOST,
    ) -> None:
        self.url = f"{backend_url.rstrip('/')}/api/v1/inbound"
        self.headers = {"Authorization": f"Bearer {service_token}", "X-Service-Name": "gateway"}
        self.session = session  # the channel's pool, made on Rasa's loop
        self.most = most
        self._waiting: list[_Logging] = []
        self._gathering: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()  # held here: the loop keeps weak ones

    async def log(
        self, message: dict[str, Any], sent: asyncio.Event | None = None
    ) -> dict[str, Any]:
        """`message`: `channel`, `user_id`, the fields of the backend's InboundMessage and the
        gateway's `request_id`; `sent` is set once the call that carries it is written (not
        when it fails before: the caller sets it once answered, channels.py)."""
        logging_it = _Logging(message, sent)
        self._waiting.append(logging_it)
        if self._gathering is None or self._gathering.done():
            self._gathering = asyncio.create_task(self._send_waiting())
            self._gathering.add_done_callback(self._stopped)
        return await logging_it.answer

    async def _send_waiting(self) -> None:
        while self._waiting:
            await joined(self._waiting)  # as parses.py gathers a run
            taken = self._waiting[: self.most]
            del self._waiting[: self.most]
            call = asyncio.create_task(self._send([t for t in taken if not t.answer.done()]))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)

    def _stopped(self, gathering: asyncio.Task[None]) -> None:
        """Cancelled at shutdown (even before it began), or worse: no caller waits for ever."""
        if not gathering.cancelled() and gathering.exception() is None:
            return
        for call in list(self._calls):
            call.cancel()
        for waiting in self._waiting:
            if not waiting.answer.done():
                waiting.answer.set_result(unavailable())
        self._waiting.clear()

    async def _send(self, taken: list[_Logging]) -> None:
        if not taken:
            return
        results = [unavailable() for _ in taken]
        try:
            results = await self._post(taken)
        finally:
            for waiting, result in zip(taken, results, strict=True):
                if not waiting.answer.done():
                    waiting.answer.set_result(result)

    async def _post(self, taken: list[_Logging]) -> list[dict[str, Any]]:
        messages = [waiting.message for waiting in taken]
        try:
            async with self.session().post(
                self.url,
                json={"messages": messages},
                headers=self.headers,
                # channels.py's trace sets these once the body is written
                trace_request_ctx=[w.sent for w in taken if w.sent is not None],
            ) as answer:
                status = answer.status
                body = await answer.json() if status < 400 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("inbound: the backend is unavailable (%s)", type(exc).__name__)
            return [unavailable() for _ in messages]
        if 400 <= status < 500:
            log.warning("inbound: the backend refused (%s)", status)
            return [{"error": "refused", "status": status} for _ in messages]
        results = body.get("results") if status < 400 and isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(messages):
            log.warning("inbound: the backend answered %s", status)
            return [unavailable() for _ in messages]
        return [_result(result) for result in results]


def _result(result: Any) -> dict[str, Any]:
    """A message's result as its own call would have been read (channels.py's rules)."""
    if isinstance(result, dict) and "message_id" in result:
        return result
    if isinstance(result, dict) and result.get("error") == "refused":
        return {"error": "refused", "status": result.get("status")}
    return unavailable()
