"""Security headers on every response of the backend, whatever route or error made it.

A page that sets its own (the console's pages, the checkout's stricter policy) keeps them:
these fill in only what is missing. Every response: no MIME sniffing, no framing, no Referer
(a checkout URL carries its link token). HTML: a Content-Security-Policy loading from this
site only, and never stored by a cache (pages hold borrowers' data)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
HTML_PAGE = {
    "Content-Security-Policy": (
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}
# FastAPI's API docs run inline scripts and load Swagger UI / ReDoc from a CDN: only framing
# is forbidden there.
DOCS_POLICY = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Plain ASGI middleware (not BaseHTTPMiddleware): streamed responses pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                defaults = dict(EVERY_RESPONSE)
                if headers.get("content-type", "").startswith("text/html"):
                    defaults.update(HTML_PAGE)
                    if docs:
                        defaults["Content-Security-Policy"] = DOCS_POLICY
                for name, value in defaults.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
