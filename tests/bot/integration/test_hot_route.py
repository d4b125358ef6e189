"""The web chat's message call answered before FastAPI routes it (bot/hot_route.py): the same
answers as the route gives, to every call, well formed or not; only the well-formed ones are
answered early, and a refused one is handled once, by the route."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import hot_route, main
from bot.webchat import COOKIE, RateLimit
from tests.bot.integration.test_webchat_api import bearer, gateway_over, session

pytestmark = pytest.mark.anyio


class Routed:
    """The app without the early answers: every call routed by FastAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def answered_early(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies of the answers the middleware gave itself."""
    bodies: list[bytes] = []
    send_answer = hot_route.send_answer

    async def counting(send: Send, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
        bodies.append(body)
        await send_answer(send, body, extra)

    monkeypatch.setattr(hot_route, "send_answer", counting)
    return bodies


@contextlib.asynccontextmanager
async def two_gateways(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_minute: int = 30
) -> AsyncIterator[list[tuple[httpx.AsyncClient, FastAPI]]]:
    """The gateway, and the gateway without the early answers, over one backend database."""
    (tmp_path / "e").mkdir()
    (tmp_path / "r").mkdir()
    async with gateway_over(db, tmp_path / "e") as (early, early_app):
        monkeypatch.setattr(main, "HotMessages", Routed)
        async with gateway_over(db, tmp_path / "r") as (routed, routed_app):
            for app in (early_app, routed_app):
                app.state.webchat_limit = RateLimit(per_minute)
            yield [(early, early_app), (routed, routed_app)]


# A call: (client, its chat's sender and token) -> the response.
Call = Callable[[httpx.AsyncClient, str, str], Any]


def post(body: Any = None, *, token: str | None = "own", **kwargs: Any) -> Call:
    """POST /webchat/messages with `body` (the chat's sender filled in) and the chat's token as
    a bearer ("own"), as the cookie ("cookie"), another's ("other") or none (None)."""

    async def call(client: httpx.AsyncClient, sender: str, own: str) -> httpx.Response:
        given = dict(kwargs)
        headers = dict(given.pop("headers", {}))
        client.cookies.clear()
        if token == "own":
            headers.update(bearer(own))
        elif token == "cookie":
            client.cookies.set(COOKIE, own)
        elif token == "other":
            headers.update(bearer((await session(client))[1]))
        elif token is not None:
            headers.update(bearer(token))
        filled = json.loads(json.dumps(body).replace("{sender}", sender))
        if "content" not in given:
            given["json"] = filled
        try:
            return await client.post("/webchat/messages", headers=headers, **given)
        finally:
            client.cookies.clear()

    return call


MESSAGE = {"sender": "{sender}", "message": "我下周五还两千五"}


def answer_of(response: httpx.Response, sender: str) -> tuple[int, Any, str | None]:
    """Status, body (the chat's sender as "{sender}") and content type: what is compared."""
    text = response.text.replace(sender, "{sender}")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return response.status_code, body, response.headers.get("content-type")


CALLS = {
    "a message": (post(MESSAGE), True),
    "a message with the cookie": (post(MESSAGE, token="cookie"), True),
    "a button, in English": (
        post(
            {
                "sender": "{sender}",
                "message": "/check_balance",
                "metadata": {"language": "en", "button_title": "Balance", "message_id": "p-1"},
            }
        ),
        True,
    ),
    "no token": (post(MESSAGE, token=None), False),
    "a wrong token": (post(MESSAGE, token="not-a-token"), False),
    "another chat's token": (post(MESSAGE, token="other"), False),
    "an empty message": (post({"sender": "{sender}", "message": ""}), False),
    "no sender": (post({"message": "hi"}), False),
    "a sender that is not one": (post({"sender": "x y", "message": "hi"}), False),
    "an unknown language": (
        post({**MESSAGE, "metadata": {"language": "fr"}}),
        False,
    ),
    "a message too long": (post({**MESSAGE, "message": "还" * 4097}), False),
    "not JSON": (
        post(token="own", content=b"{not json", headers={"content-type": "application/json"}),
        False,
    ),
    "a list": (
        post(token="own", content=b"[]", headers={"content-type": "application/json"}),
        False,
    ),
    "text/plain": (
        post(token="own", content=b'{"message": "hi"}', headers={"content-type": "text/plain"}),
        False,
    ),
    "a body past the limit": (post({**MESSAGE, "message": "x" * 70_000}), False),
}


class TestSameAnswers:
    @pytest.mark.parametrize("name", list(CALLS))
    async def test_a_call_gets_the_routes_answer(
        self,
        name: str,
        db: Session,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        answered_early: list[bytes],
    ) -> None:
        call, early = CALLS[name]
        answers = []
        async with two_gateways(db, tmp_path, monkeypatch) as gateways:
            for client, _ in gateways:
                sender, token = await session(client)
                answers.append(answer_of(await call(client, sender, token), sender))
        assert answers[0] == answers[1], name
        assert len(answered_early) == (1 if early else 0), name

    async def test_a_message_past_the_limit_is_refused_before_it_is_handled(
        self,
        db: Session,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        answered_early: list[bytes],
    ) -> None:
        answers = []
        async with two_gateways(db, tmp_path, monkeypatch, per_minute=1) as gateways:
            for client, _ in gateways:
                sender, token = await session(client)
                for text in ("你好", "还在吗"):
                    r = await post({"sender": "{sender}", "message": text})(client, sender, token)
                    answers.append(answer_of(r, sender))
                history = await client.get("/webchat/history", headers=bearer(token))
                said = [m["text"] for m in history.json()["messages"] if m["from"] == "borrower"]
                assert said == ["你好"]  # the refused one was not handled, early or late
        assert answers[0] == answers[2] and answers[1] == answers[3]
        assert answers[1][0] == 429
        assert len(answered_early) == 1

    async def test_a_cookie_due_for_renewal_is_renewed_as_by_the_route(
        self,
        db: Session,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        answered_early: list[bytes],
    ) -> None:
        cookies = []
        later = time.time() + 2 * 3600  # the cookie is due for a new token
        async with two_gateways(db, tmp_path, monkeypatch) as gateways:
            for client, app in gateways:
                sender, token = await session(client)
                with monkeypatch.context() as m:
                    m.setattr("bot.webchat.time.time", lambda: later)
                    r = await post(MESSAGE, token="cookie")(client, sender, token)
                    assert r.status_code == 200
                    renewed = r.cookies[COOKIE]
                    assert renewed != token
                    cookies.append(r.headers["set-cookie"].replace(renewed, "<token>"))
                    await app.state.relay.settle()  # the tests' backend has one session
                    again = await post(MESSAGE, token="cookie")(client, sender, renewed)
                    assert again.status_code == 200  # the new token is the chat's
        assert cookies[0] == cookies[1]
        assert len(answered_early) == 2


async def test_an_early_answer_is_known_as_the_routes_and_has_one_line_with_its_id(
    db: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answered_early: list[bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One line a message: the relay's; the route's access line only for a refusal
    (bot/observe.py), so the early answer must be known as the route's."""
    async with two_gateways(db, tmp_path, monkeypatch) as gateways:
        client = gateways[0][0]
        sender, token = await session(client)
        with caplog.at_level(logging.INFO):
            r = await post(MESSAGE)(client, sender, token)
            refused = await client.post(
                "/webchat/messages", json={"sender": sender, "message": "x"}
            )
    assert answered_early and r.headers["x-request-id"] and refused.status_code == 401
    lines = [rec for rec in caplog.records if rec.name in ("bot.access", "bot.relay")]
    assert [rec.name for rec in lines[:1]] == ["bot.relay"]  # its id: test_gateway_monitoring
    assert [(rec.name, rec.route, rec.status) for rec in lines[1:]] == [  # type: ignore[attr-defined]
        ("bot.access", "/webchat/messages", 401)
    ]
