"""Every request to the backend: its request id (taken from a well-formed `X-Request-ID`, else
made here, and echoed in the response), its count and duration by route template, and with JSON
logs its access line. Plain ASGI middleware, outermost: a 413 or a crash is counted too.

The route is the template FastAPI matched (`/api/v1/conversations/{channel}/{user_id}/inbound`),
never the path: no chat id, loan reference or link token reaches a label or a log line."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.access_log import QUIET_POLLS
from backend.monitoring import metrics, request_ids

access = logging.getLogger("backend.access")

# Asked all the time by machines (the gateway claims outbound messages every second, health
# checks, Prometheus): their access lines only when something goes wrong.
QUIET_ROUTES = frozenset({"/api/v1/outbound/claim", "/healthz", "/metrics"})


# A request answered before FastAPI routes it (hot_routes.py) names its template here.
TEMPLATE_KEY = "backend.route_template"


class RouteTemplates:
    """The template of the route a request matched, with its router's prefix: FastAPI puts the
    route it matched in the scope as declared (`/conversations/{channel}/{user_id}`); the
    app's route contexts know where it was included (`/api/v1` + that). A mount (static files)
    is its path and `/{path}`.

    Learnt route by route, the first time each is matched: asking FastAPI for the contexts of
    all the app's routes at once made it build every route's dependencies, 0.2 to 0.3 s of the
    first request of each process (and of every test that makes an app). Only the top-level
    routes up to the one the request took are asked, as routing asked them."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._templates: dict[int, dict[str, re.Pattern[str]]] = {}

    def _learn(self, scope: Scope) -> None:
        for top in self._routes:  # in routing's order, up to the route it took
            match = top.matches(scope)[0]
            if match is Match.NONE:
                continue
            for context in iter_route_contexts([top]):
                if context.path_format:
                    known = self._templates.setdefault(id(context.original_route), {})
                    if context.path_format not in known:
                        known[context.path_format] = compile_path(context.path_format)[0]
            if match is Match.FULL:
                return

    def _known(self, route: object, path: str) -> str | None:
        for template, regex in self._templates.get(id(route), {}).items():
            if regex.match(path):  # a router may be included under two prefixes
                return template
        return None

    def of(self, scope: Scope) -> str:
        if isinstance(named := scope.get(TEMPLATE_KEY), str):
            return named
        route = scope.get("route")
        if route is None:
            mount = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
            return f"{mount}/{{path}}" if mount and "endpoint" in scope else metrics.UNMATCHED
        path = str(scope.get("path", ""))
        if (template := self._known(route, path)) is None:
            self._learn(scope)  # its first request (under this prefix, if it has two)
            template = self._known(route, path)
        if template is not None:
            return template
        declared = getattr(route, "path", None)
        return declared if isinstance(declared, str) and declared else metrics.UNMATCHED


class ObservedRequests:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.templates = RouteTemplates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = request_ids.well_formed(given) or request_ids.new()
        request_ids.bind(request_id)
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[request_ids.HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method, route = metrics.method_label(scope["method"]), self.templates.of(scope)
            metrics.observe_request(method, route, status, seconds)
            polled = status == 304 and route in QUIET_POLLS  # every replica, every few seconds
            if status >= 400 or not (route in QUIET_ROUTES or polled):
                access.info(
                    "%s %s %d %.0f ms",
                    method,
                    route,
                    status,
                    seconds * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
