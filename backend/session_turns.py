"""Short database turns, for a route with slow work between its reads and its writes (a log-in
spends most of its time in argon2): each turn waits for a session slot, runs in a worker thread
on a session of its own, commits, and gives the slot back, so the slow part holds neither a
slot nor a connection. On SQLite there is one slot: a log-in that held it while checking a
password made every other request wait.

The two calls of every borrower message (`/inbound`, the turn) use it too, for another reason:
a whole call in one worker-thread turn, where a SessionDep takes three (open, the endpoint,
the commit) and the hops cost more CPU than the call's own statements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

from fastapi import Request
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.db import session_scope
from backend.deps import get_session

T = TypeVar("T")


async def in_session(request: Request, work: Callable[[Session], T]) -> T:
    """`work(session)` in a turn of its own: committed when it returns, rolled back if it
    raises."""
    async with request.app.state.session_slots:
        return await run_in_threadpool(_run, request, work)


async def in_autocommit(request: Request, work: Callable[[Connection], T]) -> T | None:
    """`work(connection)` on a PostgreSQL connection that commits each statement as it runs
    (no BEGIN and COMMIT round trips), for work whose every write is one statement. None,
    without running it, where the app's sessions are another database's or are given to it (the
    tests' transaction, which nothing may commit past)."""
    if get_session in request.app.dependency_overrides:
        return None
    engine = request.app.state.sessionmaker.kw["bind"]
    if engine.dialect.name != "postgresql":
        return None
    async with request.app.state.session_slots:
        return await run_in_threadpool(_run_autocommit, engine, work)


def _run_autocommit(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        return work(connection.execution_options(isolation_level="AUTOCOMMIT"))


def _run(request: Request, work: Callable[[Session], T]) -> T:
    with contextmanager(_sessions(request))() as session:
        return work(session)


def _sessions(request: Request) -> Callable[[], Iterator[Session]]:
    """Where SessionDep's sessions come from, so a replaced one (tests run requests on their
    own session) applies here too."""
    override = request.app.dependency_overrides.get(get_session)
    if override is not None:
        return override  # type: ignore[no-any-return]
    return partial(session_scope, request.app.state.sessionmaker)
