"""Messages the backend could not take (it was down), kept on the gateway's disk and logged
once it is back, so nothing a borrower wrote is lost. SQLite: one file, survives a restart.

One batch the backend will never take must not hold up the rest (another borrower's messages
kept during the same outage): a batch it refuses (4xx) is set aside at once, one it answers
with a 5xx is tried again later, spaced out, and set aside after `max_failures` of them. Set
aside means moved to the `set_aside` table of the same file with its reason, for an operator;
the log says why without the chat or the words.

The assistant's replies to a turn are written here first, ahead of the call that logs them
(`write_ahead`): the borrower is answered without waiting for that call, and a gateway killed
before it is made leaves them here, flushed after `WRITE_AHEAD_GRACE` by whichever replica
flushes next. Written-ahead rows are not counted as kept until their own call has failed."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # the first wait after a 5xx; it doubles with every other one
MAX_RETRY_SECONDS = 600.0
# Refusals that say the gateway itself is wrong (its token, too fast), not the batch: every
# batch would be refused alike, so the flush stops and tries again later, as for an outage.
NOT_THE_BATCH = frozenset({401, 403, 408, 429})
STOP_AFTER_5XX = 3  # in a row, in one flush: the backend is failing, not one batch
# How long a written-ahead turn is left to its own call before a flush sends it: far longer
# than the call takes, so a flush does not send it a second time (harmless, but wasted).
WRITE_AHEAD_GRACE = 30.0
_INSERT = (
    "INSERT INTO spool (channel, user_id, messages, turn, ahead, next_try)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def add_column(db: sqlite3.Connection, name: str, declaration: str) -> None:
    """A column a spool file from an earlier version lacks; another replica opening the same
    file at the same moment may add it first."""
    if name in {row[1] for row in db.execute("PRAGMA table_info(spool)")}:
        return
    try:
        db.execute(f"ALTER TABLE spool ADD COLUMN {name} {declaration}")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise


def add_next_try(db: sqlite3.Connection) -> None:
    add_column(db, "next_try", "REAL NOT NULL DEFAULT 0")


class Spool:
    def __init__(
        self,
        path: Path,
        *,
        max_failures: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_failures = max_failures
        self._clock = clock
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A write-ahead row needs to outlive the gateway's process, not a power cut: its turn is
        # logged a moment later anyway. Without the sync, writing one took 0.7 ms of the
        # borrower's wait. A message kept while the backend is down is synced (`durable`).
        self._db.execute("PRAGMA synchronous=NORMAL")
        # The gateway replicas share the file (compose's gateway-spool volume) and start at once.
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
            " user_id TEXT NOT NULL, messages TEXT NOT NULL, refusals INTEGER NOT NULL DEFAULT 0,"
            " next_try REAL NOT NULL DEFAULT 0)"
        )
        add_next_try(self._db)
        # The turn a batch of replies answers ({"message_id", "reading"}): logged as one turn.
        add_column(self._db, "turn", "TEXT")
        add_column(self._db, "ahead", "INTEGER NOT NULL DEFAULT 0")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS set_aside (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
            " user_id TEXT NOT NULL, messages TEXT NOT NULL, reason TEXT NOT NULL,"
            " set_aside_at REAL NOT NULL)"
        )
        self._lock = asyncio.Lock()  # the connection: one statement at a time
        self._flushing = asyncio.Lock()  # one flush at a time

    def close(self) -> None:
        self._db.close()

    async def keep(self, channel: str, user_id: str, messages: list[dict[str, Any]]) -> None:
        """Keep transcript messages (the backend's message bodies) for later."""
        await self._insert(channel, user_id, messages, None, ahead=False, durable=True)

    async def keep_inbound(self, channel: str, user_id: str, message: dict[str, Any]) -> None:
        """Keep a borrower's message that must reach the backend as a message in (`/inbound`:
        an opt-out word in it is acted on when it is logged), not only into the transcript."""
        await self._insert(
            channel, user_id, [message], {"inbound": True}, ahead=False, durable=True
        )

    async def write_ahead(
        self, channel: str, user_id: str, replies: list[dict[str, Any]], turn: dict[str, Any]
    ) -> int:
        """Keep a turn's replies before the call that logs them; its row, for `done`."""
        return await self._insert(channel, user_id, replies, turn, ahead=True)

    async def _insert(
        self,
        channel: str,
        user_id: str,
        messages: list[dict[str, Any]],
        turn: dict[str, Any] | None,
        *,
        ahead: bool,
        durable: bool = False,
    ) -> int:
        next_try = self._clock() + WRITE_AHEAD_GRACE if ahead else 0.0
        row = (
            channel,
            user_id,
            json.dumps(messages),  # ASCII escapes: whatever the text holds, it can be written
            json.dumps(turn) if turn is not None else None,
            int(ahead),
            next_try,
        )
        async with self._lock:
            if durable:  # a sync to the disk can take long: in a worker thread
                cursor = await asyncio.to_thread(self._synced, _INSERT, row)
            else:
                # Into the file, not onto the disk: tens of microseconds, where the trips to a
                # worker thread and back (this and `done`) cost 0.24 ms of CPU a message.
                cursor = self._db.execute(_INSERT, row)
        return int(cursor.lastrowid or 0)

    def _synced(self, sql: str, parameters: tuple[Any, ...]) -> sqlite3.Cursor:
        """A statement whose commit is on the disk, not only in the file, when it returns."""
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            return self._db.execute(sql, parameters)
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    async def done(self, *row_ids: int) -> None:
        """Written-ahead turns are logged: forget them (on the event loop, as `_insert`)."""
        async with self._lock:
            self._db.execute(
                "DELETE FROM spool WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(row_ids),),
            )

    async def failed_ahead(self, row_id: int) -> None:
        """A written-ahead turn's call failed: it is kept, as any batch the backend missed."""
        async with self._lock:  # on the event loop, as `_insert`: no disk sync
            self._db.execute("UPDATE spool SET ahead = 0, next_try = 0 WHERE id = ?", (row_id,))

    def pending(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM spool WHERE ahead = 0").fetchone()[0])

    def set_aside(self) -> list[dict[str, Any]]:
        """What was set aside, oldest first: the chat, the messages and why."""
        rows = self._db.execute(
            "SELECT channel, user_id, messages, reason, set_aside_at FROM set_aside ORDER BY id"
        ).fetchall()
        return [
            {"channel": c, "user_id": u, "messages": json.loads(m), "reason": r, "at": at}
            for c, u, m, r, at in rows
        ]

    def set_aside_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM set_aside").fetchone()[0])

    async def flush(self, backend: BackendClient) -> int:
        """Log what is kept and due, oldest first; stop at the first sign the backend is still
        down. The backend deduplicates by external id, so a batch sent twice is logged once."""
        logged = failing_in_a_row = 0
        async with self._flushing:
            now = self._clock()
            async with self._lock:
                rows = self._db.execute(
                    "SELECT id, channel, user_id, messages, turn, refusals FROM spool"
                    " WHERE next_try <= ? ORDER BY id",
                    (now,),
                ).fetchall()
            for row_id, channel, user_id, messages, turn, failures in rows:
                try:
                    await _log(backend, channel, user_id, json.loads(messages), turn)
                except BackendUnavailable as exc:
                    if exc.status is None:  # unreachable: nothing is counted
                        break
                    failing_in_a_row += 1
                    async with self._lock:
                        self._failed(row_id, failures + 1, f"backend answered {exc.status}", now)
                    if failing_in_a_row >= STOP_AFTER_5XX:
                        break
                    continue
                except BackendRefused as exc:
                    if exc.status in NOT_THE_BATCH:
                        log.warning(
                            "the backend refuses the gateway (%d): kept for later", exc.status
                        )
                        break
                    async with self._lock:
                        self._move_aside(row_id, f"refused {exc.status} {exc.code}".strip(), now)
                    continue
                failing_in_a_row = 0
                async with self._lock:
                    self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
                logged += 1
        if logged:
            log.info("logged %d kept message batch(es) now that the backend is back", logged)
        return logged

    def _failed(self, row_id: int, failures: int, reason: str, now: float) -> None:
        if failures >= self.max_failures:
            self._move_aside(row_id, f"{reason}, {failures} times", now)
            return
        wait = min(RETRY_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)
        self._db.execute(
            "UPDATE spool SET refusals = ?, next_try = ? WHERE id = ?",
            (failures, now + wait, row_id),
        )

    def _move_aside(self, row_id: int, reason: str, now: float) -> None:
        with self._db:  # one transaction: the batch is in exactly one of the two tables
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO set_aside (channel, user_id, messages, reason, set_aside_at)"
                " SELECT channel, user_id, messages, ?, ? FROM spool WHERE id = ?",
                (reason, now, row_id),
            )
            self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
        log.error("a kept message batch was set aside (%s); the others go on", reason)


async def _log(
    backend: BackendClient,
    channel: str,
    user_id: str,
    messages: list[dict[str, Any]],
    turn: str | None,
) -> None:
    if turn is None:
        await backend.log_messages(channel, user_id, messages)
        return
    of = json.loads(turn)
    if of.get("inbound"):
        for m in messages:
            sent_at = m.get("sent_at")
            await backend.inbound(
                channel,
                user_id,
                text=m["text"],
                external_id=m.get("external_id"),
                sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
                kind=m.get("kind", "text"),
            )
        return
    await backend.log_turn(
        channel, user_id, of["message_id"], reading=of.get("reading"), replies=messages
    )
