"""Schemathesis against the gateway's OpenAPI document (the web chat API), in process: the
gateway's app over the real backend app (on the test database) and a fake Rasa, with a web chat
session from POST /webchat/sessions. Every documented operation, valid and invalid requests,
every check: no server error, nothing undocumented.

/webchat/events is left out: it is a stream that stays open until the page goes, so a request
to it never ends in process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.config import Settings
from bot.backend_client import BackendClient
from bot.config import GatewaySettings
from bot.hub import MemoryHub
from bot.main import create_app
from bot.rasa_client import RasaClient
from bot.relay import Relay
from bot.spool import Spool
from bot.webchat import RateLimit
from tests.backend.apps import app_over
from tests.bot.integration.test_relay import FakeRasa
from tests.fuzzing import fuzz_all

TOKEN = "test-service-token"
IN_CI = os.environ.get("CI", "").lower() == "true"
SESSIONS = "/webchat/sessions"


def _gateway(db: Session, tmp_path: Path) -> FastAPI:
    """The gateway's app with what its start-up would set up, pointed at in-process services."""
    backend_app = app_over(
        db,
        Settings(
            app_env="test",
            database_url=f"sqlite:///{tmp_path / 'unused.db'}",
            service_token=TOKEN,
        ),
    )
    settings = GatewaySettings(
        app_env="test", service_token=TOKEN, spool_path=tmp_path / "spool.sqlite3"
    )
    app = create_app(settings)
    backend = BackendClient("http://backend", TOKEN, transport=httpx.ASGITransport(app=backend_app))
    rasa = RasaClient("http://rasa", transport=httpx.MockTransport(FakeRasa().handler))
    app.state.relay = Relay(backend, rasa, Spool(settings.spool_path))
    app.state.hub = MemoryHub()
    app.state.webchat_limit = RateLimit(10_000)  # the fuzzer is not a flood to slow down
    # No start-up: it would point the relay at a backend on the network (and start Telegram).
    app.router.lifespan_context = _no_start_up
    return app


@contextlib.asynccontextmanager
async def _no_start_up(_: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.fixture
def gateway(db: Session, tmp_path: Path) -> FastAPI:
    return _gateway(db, tmp_path)


def _session(app: FastAPI) -> dict[str, str]:
    paths = app.openapi()["paths"]
    if SESSIONS not in paths:
        reason = "the gateway has no POST /webchat/sessions yet: no session token to fuzz with"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    # Not as a context manager: that would run the gateway's start-up, which points the relay
    # at a backend on the network instead of the in-process one.
    r = TestClient(app).post(SESSIONS)
    assert r.status_code == 201, r.text
    session: dict[str, str] = r.json()
    return session


def test_every_web_chat_operation_keeps_its_contract(gateway: FastAPI) -> None:
    session = _session(gateway)
    schema = schemathesis.openapi.from_asgi("/openapi.json", gateway)

    def as_this_chat(case: schemathesis.Case, known: bool) -> None:
        # The session's own sender (another sender's is 401, as documented or not).
        if known and isinstance(case.body, dict) and "sender" in case.body:
            case.body["sender"] = session["sender"]

    def endless(operation: Any) -> bool:
        return bool(operation.path == "/webchat/events")

    fuzz_all(
        schema,
        skip=endless,
        prepare=as_this_chat,
        headers={"Authorization": f"Bearer {session['token']}"},
    )
