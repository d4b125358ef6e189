"""The middleware that answers the well-formed calls of every borrower message before FastAPI
routes them, and hands everything else to the route with its body (backend/hot_routes.py)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.types import Message, Receive, Scope, Send

from backend.hot_routes import HotRoute, HotRoutes

TOKEN = "a-service-token"


class Chat(BaseModel):
    channel: str = Field(pattern="^(telegram|webchat)$")
    user_id: str


class Said(BaseModel):
    text: str = Field(min_length=1)


class Heard(BaseModel):
    chat: str
    text: str


class Recorder:
    """The work the route does, and the route itself (the app behind the middleware)."""

    def __init__(self, fails: Exception | None = None) -> None:
        self.worked: list[tuple[Chat, Said]] = []
        self.routed: list[bytes] = []  # the bodies the route read
        self.fails = fails

    async def work(self, _: Request, chat: Chat, said: Said) -> Heard:
        self.worked.append((chat, said))
        if self.fails is not None:
            raise self.fails
        return Heard(chat=f"{chat.channel}:{chat.user_id}", text=said.text)

    async def route(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.routed.append(body)
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"routed"})


def call(
    recorder: Recorder,
    path: str = "/api/v1/chats/telegram/42/said",
    body: bytes = b'{"text": "hi"}',
    *,
    token: str = TOKEN,
    method: str = "POST",
    chunks: int = 1,
    content_type: str = "application/json",
) -> tuple[int, bytes, Scope]:
    route = HotRoute("/api/v1/chats/{channel}/{user_id}/said", Chat, Said, recorder.work, 201)
    app = HotRoutes(recorder.route, routes=[route])
    # The FastAPI app's state, as the middleware reads it from the scope.
    fastapi_app = SimpleNamespace(
        state=SimpleNamespace(settings=SimpleNamespace(service_token=TOKEN))
    )
    fastapi_app.routes = []
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", content_type.encode()),
        ],
        "app": fastapi_app,
    }
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = sent[0]["status"]
    return status, b"".join(m.get("body", b"") for m in sent[1:]), scope


class TestAnsweredBeforeRouting:
    def test_a_well_formed_call_is_the_work_s_answer_and_never_reaches_the_route(self) -> None:
        recorder = Recorder()
        status, body, _ = call(recorder)
        assert status == 201
        assert json.loads(body) == {"chat": "telegram:42", "text": "hi"}
        assert recorder.routed == []
        assert recorder.worked == [(Chat(channel="telegram", user_id="42"), Said(text="hi"))]

    def test_a_body_in_several_parts_is_read_whole(self) -> None:
        recorder = Recorder()
        status, body, _ = call(recorder, body=b'{"text": "hello there"}', chunks=3)
        assert (status, json.loads(body)["text"]) == (201, "hello there")

    def test_a_path_parameter_is_one_segment(self) -> None:
        recorder = Recorder()
        status, _, _ = call(recorder, path="/api/v1/chats/telegram/4/2/said")
        assert status == 418
        assert recorder.worked == []


class TestLeftToTheRoute:
    """Anything but the common case is the route's to answer, with the body as it came."""

    def test_a_wrong_or_missing_token(self) -> None:
        for token in ("wrong", ""):
            recorder = Recorder()
            assert call(recorder, token=token)[0] == 418
            assert recorder.routed == [b'{"text": "hi"}']
            assert recorder.worked == []

    def test_a_body_the_route_s_model_refuses(self) -> None:
        for body in (b'{"text": ""}', b"{not json", b'{"words": "hi"}', b""):
            recorder = Recorder()
            assert call(recorder, body=body)[0] == 418
            assert recorder.routed == [body]
            assert recorder.worked == []

    def test_a_body_that_does_not_say_it_is_json(self) -> None:
        """FastAPI reads a body as JSON only when its content type says so."""
        for content_type in ("text/plain", "", "application/jsonx"):
            recorder = Recorder()
            assert call(recorder, content_type=content_type)[0] == 418
            assert recorder.worked == []
        assert call(Recorder(), content_type="Application/JSON; charset=utf-8")[0] == 201

    def test_path_parameters_the_route_refuses(self) -> None:
        recorder = Recorder()
        assert call(recorder, path="/api/v1/chats/fax/42/said")[0] == 418
        assert recorder.routed == [b'{"text": "hi"}']

    def test_a_refusal_or_failure_of_the_work_is_answered_by_the_route(self) -> None:
        recorder = Recorder(fails=RuntimeError("the database went away"))
        status, body, _ = call(recorder)
        assert (status, body) == (418, b"routed")
        assert recorder.routed == [b'{"text": "hi"}']

    def test_other_methods_and_paths_pass_untouched(self) -> None:
        for method, path in (("GET", "/api/v1/chats/telegram/42/said"), ("POST", "/api/v1/x")):
            recorder = Recorder()
            assert call(recorder, path, method=method)[0] == 418
            assert recorder.worked == []
