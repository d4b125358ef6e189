"""Engine, declarative base and the request session: the one place that commits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
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
    engine = create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=0,
        connect_args=postgres_connect_args(url),
        hide_parameters=True,
    )
    ping_when_idle(engine)
    return engine


POOL_SIZE = 10  # connections per backend process (PostgreSQL)
IDLE_PING_SECONDS = 1.0


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """`pool_pre_ping`, for a connection that sat in the pool `idle_seconds` or more: a dead one
    (PostgreSQL restarted, a firewall dropped it) is replaced before a request gets it. Under
    load a connection comes back within milliseconds, and a ping on every checkout was two of a
    borrower message's eleven round trips (HikariCP skips its check the same way, for
    connections used in the last 500 ms). PostgreSQL cannot restart within a second, so a
    connection that died with it was not used since; one that breaks mid-use is caught by
    SQLAlchemy, which then renews the whole pool (the request is a 503: try again)."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        idle_from = record.info.get("idle_from")
        if idle_from is None or time.monotonic() - idle_from < idle_seconds:
            return  # new, or back in the pool a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the connection did not answer a ping") from exc
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")


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
