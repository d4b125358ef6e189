"""A ceiling on request bodies (MAX_REQUEST_BYTES), for the API and the console alike.

Counted as the body streams in, not taken from Content-Length: a chunked body has none, and a
client may send more than it announced. A body that announces too much is refused before a byte
is read; one that turns out too large is refused the moment it passes the limit, so nothing
ever holds more than the limit in memory."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BYTES = 1024 * 1024
CODE = "body_too_large"


class BodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI lets an HTTPException out of its body parsing (anything
    else would become a 400), so the app's HTTPException handler answers 413."""

    code = CODE

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


def announced_length(scope: Scope) -> int | None:
    """The Content-Length the client sent, when it is a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    """ASGI middleware: 413 `body_too_large` for an HTTP request body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = announced_length(scope)
        if announced is not None and announced > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Read outside a route's body parsing (no handler saw it): answer here if we can.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"detail": too_large_message(self.max_bytes), "code": CODE}
        # The client may still be sending: tell it the connection will not be reused.
        response = JSONResponse(body, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)
