"""A write the action server sends twice is done once: the second gets the first's answer.

An action may run again for the same borrower message: its answer was lost on the way back to
Rasa (the action server killed after the backend had written), or a later action of the same
turn failed, and the gateway sends the whole turn again (nlu/turns.py). Each write the action
server makes carries an `Idempotency-Key` built from the message's turn id, the action and the
call's place in it (actions/backend.py). A route here that records something looks the key up
first, and keeps its answer in the request's transaction, with the write: the two commit
together, so no crash between them leaves a write whose try again would write twice.

Two calls with one key at the same moment (PostgreSQL runs them side by side; SQLite one after
the other) both find no answer and both write; the one that commits second finds the first's
answer as it keeps its own, and is rolled back and answered as the first was. So too for a key
that comes back after KEEP: the second finds the stale answer already replaced.

Only what was done is kept. A refusal wrote nothing (the transaction rolled back), so a try
again is asked afresh. Keys are kept per route and chat (the path), as a digest: no chat id or
key is stored, and a key from one chat can never answer another's call."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Integer, String, Text, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow

HEADER = "Idempotency-Key"
KEEP = timedelta(days=2)  # longer than any try again: the gateway's 20 s, Telegram's 24 h
REPLAYED = "Idempotent-Replayed"
A = TypeVar("A", bound=BaseModel)


class KeptAnswer(Base):
    """The answer a keyed write gave, by sha256 of method, path and key."""

    __tablename__ = "idempotent_answers"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AnsweredMeanwhile(Exception):
    """A call with the same key committed while this one ran: this one's transaction is rolled
    back (the session's scope does that for any exception) and `answer` is sent instead."""

    def __init__(self, answer: JSONResponse) -> None:
        super().__init__("answered meanwhile by a call with the same key")
        self.answer = answer


async def answered_meanwhile(_: Any, exc: Exception) -> JSONResponse:
    """The app's handler of AnsweredMeanwhile."""
    assert isinstance(exc, AnsweredMeanwhile)
    return exc.answer


def _replay(kept: KeptAnswer) -> JSONResponse:
    return JSONResponse(
        json.loads(kept.body), status_code=kept.status_code, headers={REPLAYED: "true"}
    )


class Once:
    """One request's key (None: the caller sent none, and nothing is kept)."""

    def __init__(self, session: Session, method: str, path: str, key: str | None) -> None:
        self._session = session
        self._digest = (
            hashlib.sha256(f"{method} {path} {key}".encode()).hexdigest() if key else None
        )
        self._stale: KeptAnswer | None = None  # an answer past KEEP, looked up by `earlier`

    def earlier(self) -> JSONResponse | None:
        """The answer this key already had (within KEEP), to send again as it was."""
        if self._digest is None:
            return None
        kept = self._session.get(KeptAnswer, self._digest)
        if kept is None:
            return None
        if kept.created_at < utcnow() - KEEP:
            self._stale = kept
            return None
        return _replay(kept)

    def kept(self, answer: A, status_code: int = 200) -> A:
        """`answer`, kept in the request's transaction (after `earlier`): it commits with the
        write, or neither does."""
        if self._digest is None:
            return answer
        body = json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)
        if self._stale is not None and self._renewed(self._stale, status_code, body):
            return answer
        try:  # `earlier` found none: written now, so a call at the same moment shows here
            with self._session.begin_nested():
                self._session.add(
                    KeptAnswer(digest=self._digest, status_code=status_code, body=body)
                )
        except IntegrityError:
            # PostgreSQL made this wait for the other call's transaction, which has committed.
            first = self._session.get(KeptAnswer, self._digest)
            if first is None:
                raise
            raise AnsweredMeanwhile(_replay(first)) from None
        return answer

    def _renewed(self, stale: KeptAnswer, status_code: int, body: str) -> bool:
        """The key came back after KEEP: its new answer replaces the stale one, unless a call
        at the same moment replaced it first (AnsweredMeanwhile). False when the stale answer
        was pruned meanwhile: the new one is then added as for a key never seen."""
        # Only the row as `earlier` read it: PostgreSQL makes this wait for a call that
        # renewed it meanwhile, then finds it changed and updates nothing.
        result: Any = self._session.execute(
            update(KeptAnswer)
            .where(KeptAnswer.digest == stale.digest, KeptAnswer.created_at == stale.created_at)
            .values(status_code=status_code, body=body, created_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return True
        now = self._session.get(KeptAnswer, stale.digest, populate_existing=True)
        if now is None:
            self._session.expunge(stale)  # gone: the new answer takes its key
            return False
        raise AnsweredMeanwhile(_replay(now))


def prune(session: Session, now: datetime) -> int:
    """Forget answers older than KEEP; how many went."""
    result: Any = session.execute(delete(KeptAnswer).where(KeptAnswer.created_at < now - KEEP))
    return int(result.rowcount or 0)
