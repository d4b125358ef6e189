"""The backend app for in-process tests, over the test's own database session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.deps import get_session, session_slot
from backend.main import create_app


def app_over(db: Session, settings: Settings) -> FastAPI:
    """Requests use `db` (commits land in the test's transaction, which the test's fixture
    rolls back or throws away). One request at a time holds it, as on SQLite: the gateway
    logs replies while the next message comes in."""
    app = create_app(settings)
    app.state.session_slots = asyncio.Semaphore(1)

    def session_override(
        _: Annotated[None, Depends(session_slot)] = None,
    ) -> Iterator[Session]:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = session_override
    # The policy versions from `db` too, checked when a test says (`refresh_policies`), never
    # from the lifespan's thread: one session is not shared across threads.
    running = app.state.running_policies
    running.sessions = lambda: contextlib.nullcontext(db)
    running.every = 24 * 3600
    return app
