"""Every HTTP request to the gateway: its request id (a well-formed `X-Request-ID` from nginx,
else a new one, echoed in the response) and its access line: method, route template, status,
duration. The web chat's routes carry no chat id in their paths; the sender is in the body."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import request_ids

access = logging.getLogger("bot.access")

# Their access lines only when something goes wrong: the routes machines ask all the time, and
# the borrower's message, whose line the relay writes (bot/relay.py: what became of it, its
# duration and the request id). A line costs this process and whatever collects its output a
# write each; two a message were a fifth of the gateway's busy time under load (bench/RESULTS.md).
QUIET_ROUTES = frozenset({"/healthz", "/metrics", "/webchat/messages"})


def route_of(scope: Scope) -> str:
    route = getattr(scope.get("route"), "path", None)
    if isinstance(route, str) and route:
        return route
    mount = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    return f"{mount}/{{path}}" if mount and "endpoint" in scope else "unmatched"


class ObservedRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            route = route_of(scope)
            if status >= 400 or route not in QUIET_ROUTES:
                ms = (time.perf_counter() - started) * 1000
                method = scope["method"] if scope["method"].isalpha() else "OTHER"
                access.info(
                    "%s %s %d %.0f ms",
                    method,
                    route,
                    status,
                    ms,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(ms, 1),
                    },
                )
