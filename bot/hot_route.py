"""The web chat's call for every borrower message (`POST /webchat/messages`), answered without
FastAPI's routing and dependency solving when it is well formed, which it nearly always is.

FastAPI walks its routes one by one and solves the route's dependencies (the session, the body)
for every request: 0.2 ms of CPU a message (0.07 here, timed in process), of the gateway's 2 to
3, on the two cores that Rasa needs (bench/RESULTS.md). Here a call whose session and body
the route's own dependency and model accept runs the route's own function
(`webchat.post_message`) and is answered as the route answers it, with the cookie the session
may renew. Anything else (no or a wrong token, a malformed body, another sender's token, too
many messages) goes to the FastAPI route as if this were not here, body and all, and gets its
usual answer: the route stays the one contract, documented in the OpenAPI document. Those
refusals are made before the message is handled, so nothing is done twice. A failure while the
message is handled is not caught: it is the server error the route would give too.

Innermost of the app's middleware: the request id, the access line and the body size limit
apply as to any request. backend/hot_routes.py is its twin (the images share no code)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import iter_route_contexts
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.webchat import WebchatMessage, chat_session, post_message

PATH = "/webchat/messages"
_REPLIES: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[dict[str, Any]])


class HotMessages:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: Any = None  # the FastAPI route, for the access line's template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()  # the size limit outside applies while it is read
        answer = await _answered(request, body)
        if answer is None:
            await self.app(scope, _replaying(body, receive), send)
            return
        scope["route"] = self._declared(scope)
        await send_answer(send, *answer)

    def _declared(self, scope: Scope) -> Any:
        if self._route is None:
            self._route = next(
                (
                    c.original_route
                    for c in iter_route_contexts(scope["app"].routes)
                    if c.path_format == PATH
                ),
                None,
            )
        return self._route


Headers = list[tuple[bytes, bytes]]


async def _answered(request: Request, body: bytes) -> tuple[bytes, Headers] | None:
    """The route's answer and its extra headers (a renewed cookie); None to let the route answer."""
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != (
        "application/json"
    ):
        return None  # the route reads other types its own way
    try:
        # As FastAPI does it: the dependency first, then json.loads and the model.
        chat = await chat_session(request)
        message = WebchatMessage.model_validate(json.loads(body))
    except (HTTPException, ValueError, ValidationError):
        return None  # the route's 401, 400 or 422
    response = Response()  # collects what the route sets on it, as FastAPI's does
    del response.headers["content-length"]
    try:
        replies = await post_message(message, request, response, chat)
    except HTTPException:  # another sender's token, or too many: said before any work
        return None
    return _REPLIES.dump_json(replies), response.headers.raw


async def send_answer(send: Send, body: bytes, extra: Headers) -> None:
    headers = [
        (b"content-length", b"%d" % len(body)),
        (b"content-type", b"application/json"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
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
