"""The assistant's turns, logged with the backend a moment after the borrower has the replies,
the turns of that moment together: one call (`POST /turns`) for the turns of every chat that
came within `wait` seconds of the first. Each turn is in the spool already (written ahead), so
the wait risks nothing: a gateway killed meanwhile leaves them to the next flush.

Logging each turn on its own took a backend call, a worker-thread turn and a commit for every
borrower message, on the same cores Rasa needs. A batch the backend refuses is sent again one
turn at a time, so that one turn it will never take (an unknown message) does not hold up the
others (and a backend of a version without that call still takes them); a turn refused on
its own is kept in the spool, which sets it aside after its own refusals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from bot import request_ids
from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable
from bot.spool import Spool

log = logging.getLogger(__name__)

WAIT_SECONDS = 0.1  # far below what a reader of the transcript notices
MOST = 100  # turns in one call: the backend's limit


@dataclass(frozen=True, slots=True)
class Turn:
    row: int  # its written-ahead row in the spool
    channel: str
    user_id: str
    message_id: int  # the borrower message it answers
    reading: dict[str, Any] | None
    replies: list[dict[str, Any]]

    def body(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "user_id": self.user_id,
            "message_id": self.message_id,
            "reading": self.reading,
            "replies": self.replies,
        }


@dataclass(frozen=True, slots=True)
class _Waiting:
    turn: Turn
    since: float  # the loop's time
    logged: asyncio.Future[None]


class TurnLog:
    def __init__(
        self, backend: BackendClient, spool: Spool, *, wait: float = WAIT_SECONDS, most: int = MOST
    ) -> None:
        self.backend, self.spool = backend, spool
        self.wait, self.most = wait, most
        self._waiting: list[_Waiting] = []
        self._sender: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()

    async def log(self, turn: Turn) -> None:
        """Returns once the turn is logged, or kept in the spool for a later flush; never
        raises for the backend's sake."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(turn, loop.time(), loop.create_future())
        self._waiting.append(waiting)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all())
        await asyncio.shield(waiting.logged)

    def hurry(self) -> None:
        """Send what waits now (someone reads the transcript, the gateway stops)."""
        if self._waiting:
            self._hurry.set()

    async def _send_all(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            due = self._waiting[0].since + self.wait
            if not self._hurry.is_set() and due > loop.time():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), due - loop.time())
            self._hurry.clear()
            batch = self._waiting[: self.most]
            del self._waiting[: len(batch)]
            try:
                await self._send([w.turn for w in batch])
            except Exception:  # kept in the spool: a later flush logs them
                log.exception("logging %d turns failed; kept for later", len(batch))
            finally:
                for w in batch:
                    if not w.logged.done():
                        w.logged.set_result(None)

    async def _send(self, batch: list[Turn]) -> None:
        with request_ids.scope():
            try:
                await self.backend.log_turns([turn.body() for turn in batch])
            except BackendRefused as exc:  # a turn of it, or a backend without /turns
                log.warning("a batch of %d turns was refused (%s): one by one", len(batch), exc)
                for turn in batch:
                    await self._send_one(turn)
                return
            except BackendUnavailable as exc:
                await self._keep(batch, exc)
                return
            await self.spool.done(*(turn.row for turn in batch))

    async def _send_one(self, turn: Turn) -> None:
        try:
            await self.backend.log_turn(
                turn.channel,
                turn.user_id,
                turn.message_id,
                reading=turn.reading,
                replies=turn.replies,
            )
        except (BackendUnavailable, BackendRefused) as exc:
            await self._keep([turn], exc)
            return
        await self.spool.done(turn.row)

    async def _keep(self, batch: list[Turn], exc: Exception) -> None:
        log.warning("replies of %d turns not logged now (%s); kept for later", len(batch), exc)
        for turn in batch:
            await self.spool.failed_ahead(turn.row)
