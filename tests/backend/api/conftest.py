from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import make_engine
from tests.backend import factories
from tests.backend.api.console_client import Console, make_user
from tests.backend.apps import app_over

TOKEN = "test-service-token"
TODAY = date(2026, 4, 1)


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        app_env="test",
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        service_token=TOKEN,
        business_date=TODAY,
        public_base_url="http://testserver",
    )


@pytest.fixture
def client(db: Session, settings: Settings) -> Iterator[TestClient]:
    """The API over the test's database session, with the service token."""
    with TestClient(app_over(db, settings), headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


@pytest.fixture
def loan(db: Session):  # type: ignore[no-untyped-def]
    """12,000.00 at 12% over 12 months from 15 Jan 2026, nothing paid: 45 days late on TODAY."""
    made = factories.loan(db)
    db.commit()
    return made


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def committing_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine whose sessions really commit, for tests of requests running at the same time:
    a fresh SQLite file, or the session's PostgreSQL schema (the test removes what it wrote)."""
    if request.param == "sqlite":
        path = tmp_path / "committing.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    yield request.getfixturevalue("pg_engine")


@pytest.fixture
def console_app(db: Session, settings: Settings) -> FastAPI:
    """The backend app for console tests over the test's database session."""
    return app_over(db, settings)


@pytest.fixture
def open_console(console_app: FastAPI, db: Session) -> Callable[..., Console]:
    """A logged-in console for a new user of the given role: `open_console("ann", "collector")`."""

    def open_as(username: str, role: str, *, language: str = "en") -> Console:
        make_user(db, username, role, language=language)
        console = Console(console_app)
        response = console.login(username)
        assert response.status_code == 303, response.text[:500]
        return console

    return open_as
