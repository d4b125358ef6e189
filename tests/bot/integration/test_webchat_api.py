"""The web chat API of the gateway, in process, with the real backend app (on SQLite and on
PostgreSQL) and a fake Rasa behind it: sessions and their tokens, text that cannot be stored,
and what a bad or oversized request gets."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from backend.config import Settings
from bot.backend_client import BackendClient
from bot.config import GatewaySettings
from bot.hub import MemoryHub
from bot.main import create_app
from bot.rasa_client import RasaClient
from bot.relay import Relay
from bot.spool import Spool
from bot.webchat import COOKIE, RateLimit
from tests.backend.apps import app_over
from tests.bot.integration.test_relay import TOKEN, FakeRasa

pytestmark = pytest.mark.anyio
SENDER_FORM = r"^w-[A-Za-z0-9_-]{32}$"


def gateway_app(backend: BackendClient, rasa: RasaClient, spool: Spool, **settings: Any) -> FastAPI:
    """The gateway's app with what its start-up would make, minus Telegram and the loops."""
    app = create_app(GatewaySettings(service_token=TOKEN, **settings))
    app.state.relay = Relay(backend, rasa, spool)
    app.state.hub = MemoryHub()
    app.state.webchat_limit = RateLimit(30)
    return app


@contextlib.asynccontextmanager
async def gateway_over(
    db: Session, tmp_path: Path, rasa: FakeRasa | None = None, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The gateway's app in process over the real backend app (on `db`) and a fake Rasa, and
    a client of it at GATEWAY_PUBLIC_URL (http://gateway unless given)."""
    backend_app = app_over(
        db,
        Settings(
            app_env="test",
            database_url=f"sqlite:///{tmp_path / 'unused.db'}",
            service_token=TOKEN,
        ),
    )
    backend = BackendClient("http://backend", TOKEN, transport=httpx.ASGITransport(app=backend_app))
    rasa_client = RasaClient(
        "http://rasa", transport=httpx.MockTransport((rasa or FakeRasa()).handler)
    )
    spool = Spool(tmp_path / "spool.sqlite3")
    app = gateway_app(backend, rasa_client, spool, **settings)
    base_url = settings.get("gateway_public_url", "http://gateway")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as c:
        yield c, app
    await app.state.relay.settle()  # the replies it logs after answering
    await backend.aclose()
    await rasa_client.aclose()
    spool.close()


@pytest.fixture
async def gateway(db: Session, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_over(db, tmp_path) as (client, _):
        yield client


async def session(gateway: httpx.AsyncClient) -> tuple[str, str]:
    """A new chat's sender and token (the client keeps no cookie: each call says its own)."""
    r = await gateway.post("/webchat/sessions")
    gateway.cookies.clear()
    assert r.status_code == 201, r.text
    return r.json()["sender"], r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestSessions:
    async def test_a_session_is_the_servers_sender_id_and_a_token_also_set_as_a_strict_cookie(
        self, gateway: httpx.AsyncClient
    ) -> None:
        r = await gateway.post("/webchat/sessions")
        gateway.cookies.clear()
        assert r.status_code == 201
        body = r.json()
        assert set(body) == {"sender", "token"}
        assert re.match(SENDER_FORM, body["sender"])
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}={body['token']};")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/webchat", "Max-Age=2592000"):
            assert attribute.lower() in cookie.lower(), cookie
        assert "secure" not in cookie.lower()  # development: http
        # A page that still has its cookie continues its chat.
        again = await gateway.post("/webchat/sessions", cookies={COOKIE: body["token"]})
        assert again.status_code == 200 and again.json()["sender"] == body["sender"]

    async def test_a_chat_is_only_its_tokens(self, gateway: httpx.AsyncClient) -> None:
        sender, token = await session(gateway)
        _, other_token = await session(gateway)
        message = {"sender": sender, "message": "你好"}
        assert (await gateway.post("/webchat/messages", json=message)).status_code == 401
        r = await gateway.post("/webchat/messages", json=message, headers=bearer(other_token))
        assert r.status_code == 401  # another chat's token
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        r = await gateway.post("/webchat/messages", json=message, headers=bearer(forged))
        assert r.status_code == 401
        r = await gateway.post("/webchat/messages", json=message, headers=bearer(token))
        assert r.status_code == 200 and r.json()[0]["recipient_id"] == sender
        # The cookie alone does (the page's way); the id in the address does nothing.
        history = await gateway.get("/webchat/history", cookies={COOKIE: token})
        assert history.json()["messages"][0]["text"] == "你好"
        assert (await gateway.get(f"/webchat/history?sender={sender}")).status_code == 401
        assert (await gateway.get(f"/webchat/events?sender={sender}")).status_code == 401
        leaked = await gateway.get("/webchat/history", headers=bearer(other_token))
        assert leaked.json()["messages"] == []  # the other chat sees its own (empty) history

    async def test_an_idle_session_is_over(
        self, gateway: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sender, token = await session(gateway)
        later = time.time() + 31 * 86_400
        monkeypatch.setattr("bot.webchat.time.time", lambda: later)
        r = await gateway.get("/webchat/history", headers=bearer(token))
        assert r.status_code == 401
        renewed = await gateway.post("/webchat/sessions", headers=bearer(token))
        assert renewed.status_code == 201 and renewed.json()["sender"] != sender

    async def test_a_cookie_in_use_is_renewed(
        self, gateway: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, token = await session(gateway)
        later = time.time() + 2 * 3600
        monkeypatch.setattr("bot.webchat.time.time", lambda: later)
        r = await gateway.get("/webchat/history", cookies={COOKIE: token})
        assert r.status_code == 200
        assert r.cookies[COOKIE] != token

    def test_production_cookies_are_secure(self, tmp_path: Path) -> None:
        real = {"service_token": secrets.token_hex(32), "rasa_token": secrets.token_hex(32)}
        settings = GatewaySettings(app_env="production", **real, webchat_secret=secrets.token_hex())
        assert settings.webchat_cookie_is_secure
        with pytest.raises(ValueError, match="WEBCHAT_SECRET"):
            GatewaySettings(app_env="production", **real)


class TestWhatCannotBeStored:
    @pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
    async def test_a_nul_or_lone_surrogate_is_dropped_and_the_message_answered(
        self, gateway: httpx.AsyncClient, escape: str
    ) -> None:
        sender, token = await session(gateway)
        raw = f'{{"sender": "{sender}", "message": "I can{escape} pay 500"}}'
        r = await gateway.post(
            "/webchat/messages",
            content=raw.encode(),
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert r.status_code == 200, r.text
        assert r.json()[0]["text"] == "echo I can pay 500"
        history = (await gateway.get("/webchat/history", headers=bearer(token))).json()
        assert history["messages"][0]["text"] == "I can pay 500"

    async def test_a_message_of_nothing_else_is_a_clear_422(
        self, gateway: httpx.AsyncClient
    ) -> None:
        sender, token = await session(gateway)
        raw = f'{{"sender": "{sender}", "message": "\\u0000\\udfff"}}'
        r = await gateway.post(
            "/webchat/messages",
            content=raw.encode(),
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert r.status_code == 422


class TestBadRequests:
    async def test_a_422_never_echoes_what_was_sent(self, gateway: httpx.AsyncClient) -> None:
        _, token = await session(gateway)
        body = {"sender": "SECRET sender id!", "message": "x" * 5000}
        r = await gateway.post("/webchat/messages", json=body, headers=bearer(token))
        assert r.status_code == 422
        assert "SECRET" not in r.text and "xxxx" not in r.text
        assert {e["loc"][-1] for e in r.json()["detail"]} == {"sender", "message"}
        raw = '{"sender": "\\ud800\\u0000", "message": "hi"}'
        r = await gateway.post(
            "/webchat/messages",
            content=raw.encode(),
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert r.status_code == 422

    async def test_a_body_past_the_limit_is_413_declared_or_not(
        self, gateway: httpx.AsyncClient
    ) -> None:
        sender, token = await session(gateway)
        big = json.dumps({"sender": sender, "message": "还" * 6000}, ensure_ascii=False).encode()
        r = await gateway.post(
            "/webchat/messages",
            content=big,
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert r.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for start in range(0, len(big), 1000):
                yield big[start : start + 1000]

        r = await gateway.post(
            "/webchat/messages",
            content=chunks(),
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert r.status_code == 413
        fits = json.dumps({"sender": sender, "message": "还" * 4096}, ensure_ascii=False)
        r = await gateway.post(
            "/webchat/messages",
            content=fits.encode(),
            headers={**bearer(token), "content-type": "application/json"},
        )
        assert r.status_code == 200, r.text
