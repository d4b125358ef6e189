"""Shared fixtures: databases (SQLite and the local PostgreSQL) and a migrated schema."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"

# No per-example deadline (a busy machine is not a bug); in CI the same examples every run, so
# a red build is a real failure that reproduces, while developers' runs keep exploring.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if IN_CI else "dev")
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """argon2 with light parameters in this process: the production ones (64 MiB, 3 passes)
    spend half a second a log-in on purpose, and the console's tests log in hundreds of times.
    The same code runs; hashes name their parameters, so either kind verifies. Processes the
    tests start (the end-to-end stack) hash as production does."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from backend.staff import passwords

    quick = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    kept = passwords._hasher
    passwords._hasher = lambda: quick  # type: ignore[assignment]
    yield
    passwords._hasher = kept


def need_postgres(reason: str) -> None:
    """Skip on a developer machine without PostgreSQL; under CI=true, fail instead."""
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies, so every test starts clean."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A throwaway schema in the local PostgreSQL, migrated once, dropped at the end."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        need_postgres(str(exc).splitlines()[0])
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        upgrade(PG_URL, connection=conn)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """A session on a migrated database: a fresh SQLite copy, or a PostgreSQL transaction
    rolled back at the end (the code under test commits to a savepoint)."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        with Session(engine, expire_on_commit=False) as session:
            yield session
        engine.dispose()
        return
    pg: Engine = request.getfixturevalue("pg_engine")
    with pg.connect() as conn:
        outer = conn.begin()
        with Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session
        outer.rollback()
