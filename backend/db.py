"""Engine, declarative base and the request session: the one place that commits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder (var/ on a fresh clone)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """`hide_parameters`: an error's text (and so a logged traceback) shows the SQL without its
    values: a phone number, a borrower's words or a token never reach the logs that way."""
    if url.startswith("sqlite:///"):
        ensure_sqlite_folder(url)
        # One connection: requests take turns (see connection_slots) instead of polling
        # SQLite's lock, which starves under load.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            pool_size=1,
            max_overflow=0,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # The driver's own transaction handling breaks SAVEPOINTs (a savepoint opened first
            # commits for good): take BEGIN over, as SQLAlchemy's SQLite notes advise.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # SQLite has one writer at a time, and a transaction that read first cannot wait for
            # the write lock: it fails with "database is locked". Most requests read, then write
            # (the audit log at least), so every transaction takes the lock as it begins and
            # concurrent requests wait their turn (busy_timeout). PostgreSQL needs none of this.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=0,
        connect_args=postgres_connect_args(url),
        hide_parameters=True,
    )


POOL_SIZE = 10  # connections per backend process (PostgreSQL)
# A statement waits at most LOCK_TIMEOUT for another transaction's lock, and none runs longer
# than STATEMENT_TIMEOUT (the largest reports take seconds): a request stuck behind a lock or a
# runaway query fails (503, try again) instead of holding its connection and thread for ever.
# An operator may set other values in DATABASE_URL (`?options=-c%20lock_timeout%3D10s`).
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "120s"


def postgres_connect_args(url: str) -> dict[str, str]:
    """The timeouts as connection options, before any the URL has (the later one wins)."""
    if not make_url(url).get_backend_name().startswith("postgresql"):
        return {}
    ours = f"-c lock_timeout={LOCK_TIMEOUT} -c statement_timeout={STATEMENT_TIMEOUT}"
    given = make_url(url).query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    return {"options": f"{ours} {given}".strip()}


def connection_slots(engine: Engine) -> int:
    """How many requests may hold a session at once: the pool's size. More would wait for a
    connection inside a worker thread, and enough of those would leave no thread for the
    session holding one to commit and give it back."""
    return 1 if engine.dialect.name == "sqlite" else POOL_SIZE


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on any error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
