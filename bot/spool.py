"""Messages the backend could not take (it was down), kept on the gateway's disk and logged
once it is back, so nothing a borrower wrote is lost. SQLite: one file, survives a restart."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable

log = logging.getLogger(__name__)

MAX_REFUSALS = 5  # a batch the backend keeps refusing is dropped, not retried for ever


class Spool:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
            " user_id TEXT NOT NULL, messages TEXT NOT NULL, refusals INTEGER NOT NULL DEFAULT 0)"
        )
        self._lock = asyncio.Lock()

    def close(self) -> None:
        self._db.close()

    async def keep(self, channel: str, user_id: str, messages: list[dict[str, Any]]) -> None:
        """Keep transcript messages (the backend's message bodies) for later."""
        async with self._lock:
            await asyncio.to_thread(
                self._db.execute,
                "INSERT INTO spool (channel, user_id, messages) VALUES (?, ?, ?)",
                (channel, user_id, json.dumps(messages, ensure_ascii=False)),
            )

    def pending(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM spool").fetchone()[0])

    async def flush(self, backend: BackendClient) -> int:
        """Log what is kept, oldest first; stop at the first sign the backend is still down.
        The backend deduplicates by external id, so a batch sent twice is logged once."""
        logged = 0
        async with self._lock:
            rows = self._db.execute(
                "SELECT id, channel, user_id, messages, refusals FROM spool ORDER BY id"
            ).fetchall()
            for row_id, channel, user_id, messages, refusals in rows:
                try:
                    await backend.log_messages(channel, user_id, json.loads(messages))
                except BackendUnavailable:
                    break
                except BackendRefused as exc:
                    if refusals + 1 >= MAX_REFUSALS:
                        log.error("dropping a kept batch the backend refuses: %s", exc.code)
                        self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
                    else:
                        self._db.execute(
                            "UPDATE spool SET refusals = refusals + 1 WHERE id = ?", (row_id,)
                        )
                    continue
                self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
                logged += 1
        if logged:
            log.info("logged %d kept message batch(es) now that the backend is back", logged)
        return logged
