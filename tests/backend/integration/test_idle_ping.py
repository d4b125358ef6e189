"""The backend's PostgreSQL pool pings a connection that sat idle, and only that one
(backend/db.py `ping_when_idle`): a connection the server dropped while it was idle is
replaced before a request gets it; one back a moment ago goes out without a round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from backend.db import make_engine, ping_when_idle
from tests.conftest import PG_URL, need_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        need_postgres(str(exc).splitlines()[0])
    yield engine
    engine.dispose()


def heard(engine: Engine) -> list[str]:
    said: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        said.append(statement.strip().lower())

    event.listen(engine, "before_cursor_execute", listen)
    return said


def server_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(pid: int) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_back_a_moment_ago_is_not_pinged(engine: Engine) -> None:
    server_pid(engine)  # the pool's connection, back in it now
    pings: list[Any] = []
    event.listen(engine.pool, "checkout", lambda *_: pings.append(1))
    real = engine.dialect.do_ping
    engine.dialect.do_ping = lambda c: pings.append("ping") or real(c)  # type: ignore[method-assign]
    for _ in range(3):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == [1, 1, 1]  # three checkouts, no ping


@pytest.mark.usefixtures("engine")  # PostgreSQL is there
def test_an_idle_connection_the_server_dropped_is_replaced_before_use() -> None:
    engine = create_engine(PG_URL, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds=0.0)  # every connection counts as idle
    try:
        first = server_pid(engine)
        terminate(first)  # PostgreSQL restarted, or a firewall cut it, while it sat idle
        said = heard(engine)
        with engine.connect() as conn:  # no error: the dead one was replaced
            again = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        assert again != first
        assert said == ["select pg_backend_pid()"]  # the ping is the driver's own, not logged
    finally:
        engine.dispose()


@pytest.mark.usefixtures("engine")
def test_without_the_idle_ping_the_dropped_connection_fails_the_request() -> None:
    """What the ping is for (and that the test above can fail)."""
    engine = create_engine(PG_URL, pool_size=1, max_overflow=0)
    try:
        terminate(server_pid(engine))
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
