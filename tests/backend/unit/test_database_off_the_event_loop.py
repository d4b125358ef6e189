"""No route of the backend (API or console) does database work on the event loop.

An `async def` endpoint or dependency runs on the loop itself: one that waits on the database
(a row lock, a slow query) stops every other request, `/healthz` included, and when what it
waits for is another request's commit, nothing ever moves again. So a callable that gets a
database session, directly or through its dependencies, is a plain `def` (FastAPI runs it in a
worker thread); only work without the database (reading the body) may be async.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from backend.config import Settings
from backend.deps import SessionDep, get_session
from backend.main import create_app


def runs_on_the_loop(call: Callable[..., Any] | None) -> bool:
    if call is None:
        return False
    target = call if inspect.isroutine(call) else getattr(call, "__call__", call)  # noqa: B004
    target = inspect.unwrap(target)
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def uses_session(node: Dependant) -> bool:
    return node.call is get_session or any(uses_session(d) for d in node.dependencies)


def _name(call: Callable[..., Any] | None) -> str:
    return f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', repr(call))}"


def routes(app: FastAPI) -> Iterator[tuple[str, Dependant]]:
    """Every route with its dependencies as a request resolves them: the routers' own
    (the service token's) included, console and API alike."""
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if isinstance(dependant, Dependant):
            yield f"{sorted(route.methods or ['WS'])} {route.path}", dependant


def offenders(app: FastAPI) -> Iterator[str]:
    """Every async endpoint or dependency that a database session reaches, by route."""
    for where, dependant in routes(app):
        stack = [dependant]
        while stack:
            node = stack.pop(0)
            if runs_on_the_loop(node.call) and any(uses_session(d) for d in node.dependencies):
                yield f"{where}: {_name(node.call)}"
            stack.extend(node.dependencies)


def app_for(tmp_path: Path) -> FastAPI:
    return create_app(Settings(app_env="test", database_url=f"sqlite:///{tmp_path / 'x.db'}"))


def test_no_async_endpoint_or_dependency_gets_a_database_session(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    found = dict(routes(app))
    # the walk sees the API and the console, and most of them use the database
    assert {"['GET'] /healthz", "['POST'] /api/v1/payments/webhooks/{provider_name}"} <= set(found)
    assert any(" /console/" in where for where in found)
    assert sum(uses_session(d) for d in found.values()) > 80
    assert list(offenders(app)) == []


def _sync_dependency(session: SessionDep) -> None: ...


async def _async_dependency(_: Annotated[None, Depends(_sync_dependency)]) -> None: ...


def test_the_walk_finds_an_async_route_or_dependency_over_the_session(tmp_path: Path) -> None:
    app = app_for(tmp_path)

    @app.get("/async-endpoint")
    async def async_endpoint(session: SessionDep) -> None: ...

    @app.get("/async-dependency")
    def sync_endpoint(_: Annotated[None, Depends(_async_dependency)]) -> None: ...

    assert [o.split(": ")[0] for o in offenders(app) if " /async-" in o] == [
        "['GET'] /async-endpoint",
        "['GET'] /async-dependency",
    ]
