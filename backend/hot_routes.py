"""The calls made for every borrower message (`/inbound`, `/turns`), answered without FastAPI's
routing and dependency solving when they are well formed, which they nearly always are.

FastAPI walks its routes one by one and solves each route's dependencies (the service token,
the path, the body) for every request: for these two calls that cost more CPU than their SQL
(bench/RESULTS.md). Here a request that has the service token and a path and body
the route's own models accept runs the route's own work function in the same session turn,
and is answered with the route's response model. Anything else (a wrong token, a malformed
body, a refusal of the work, a database error) goes to the FastAPI route as if this were not
here, body and all, and gets its usual answer: the route stays the one contract, documented
in the OpenAPI document, and this only answers its common case sooner.

Innermost of the app's middleware: the request id, the metrics and access line, the body
size limit and the security headers apply as to any request."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.monitoring.observe import TEMPLATE_KEY

log = logging.getLogger(__name__)

# work(request, path parameters or None, body): what the route does, as the route does it.
Work = Callable[[Request, Any, Any], Awaitable[BaseModel]]


@dataclass
class HotRoute:
    """A FastAPI route's common case, answered with `status`."""

    path: str  # the route's template, "/api/v1/conversations/{channel}/{user_id}/inbound"
    params: type[BaseModel] | None  # the path parameters, as the route validates them
    body: type[BaseModel]
    work: Work
    status: int = 200
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        # A parameter is one path segment, as in Starlette's routing.
        self.pattern = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


class HotRoutes:
    def __init__(self, app: ASGIApp, *, routes: list[HotRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for route in self.routes:
                if (params := route.match(scope["path"])) is not None:
                    await self._serve(route, params, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self, route: HotRoute, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        request = Request(scope, receive)
        if not _has_token(request):
            await self.app(scope, receive, send)
            return
        body = await request.body()  # the size limit outside applies while it is read
        answer = await _answered(route, params, request, body)
        if answer is None:
            await self.app(scope, _replaying(body, receive), send)
            return
        scope[TEMPLATE_KEY] = route.path  # for the metrics' label and the access line
        await _respond(send, route.status, answer)


def _has_token(request: Request) -> bool:
    given = request.headers.get("authorization", "")
    token = request.app.state.settings.service_token
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def _answered(
    route: HotRoute, params: dict[str, str], request: Request, body: bytes
) -> bytes | None:
    """The route's answer to a well-formed request; None to let the route answer it."""
    if not _is_json(request.headers.get("content-type", "")):
        return None  # the route's 422 (FastAPI reads a body as JSON only when it says so)
    try:
        # Parsed and validated as FastAPI does it (json.loads, then the model in Python mode),
        # so that what is accepted here is what the route accepts.
        checked = route.params.model_validate(params) if route.params else None
        parsed = route.body.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # not JSON, or not the model
        return None  # the route's 422
    try:
        result = await route.work(request, checked, parsed)
    except Exception as exc:  # the route answers it (and rolls it back again)
        log.debug("hot route %s left to FastAPI: %s", route.path, type(exc).__name__)
        return None
    return result.model_dump_json().encode()


def _is_json(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "application/json"


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the route, given the body again as it was read here."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
