"""The backend app for in-process tests, over the test's own database session."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.deps import get_session
from backend.main import create_app


def app_over(db: Session, settings: Settings) -> FastAPI:
    """Requests use `db` (commits land in the test's transaction, which the test's fixture
    rolls back or throws away)."""
    app = create_app(settings)

    def session_override() -> Iterator[Session]:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = session_override
    return app
