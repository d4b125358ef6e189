"""The gateway's side of Rasa's auth token: every call carries it (the REST channel as a bearer
header, Rasa's HTTP API as the `token` query parameter), and production refuses a development,
short or guessable one."""

from __future__ import annotations

import secrets

import httpx
import pytest
from pydantic import ValidationError

from bot.config import GatewaySettings
from bot.rasa_client import RasaClient

pytestmark = pytest.mark.anyio


# every other production secret real (webchat_secret: the web chat's own)
REAL = {
    "app_env": "production",
    "service_token": secrets.token_hex(32),
    "webchat_secret": secrets.token_hex(32),
}


def test_production_refuses_the_development_rasa_token() -> None:
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        GatewaySettings(**REAL)
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        GatewaySettings(**REAL, rasa_token="short")
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        GatewaySettings(**REAL, rasa_token="r" * 32)
    token = secrets.token_hex(32)
    assert GatewaySettings(**REAL, rasa_token=token).rasa_token == token


def test_development_has_the_procfiles_default() -> None:
    assert GatewaySettings().rasa_token == "dev-rasa-token"


async def test_every_call_to_rasa_carries_the_token() -> None:
    seen: list[httpx.Request] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/webhooks/rest/webhook":
            return httpx.Response(200, json=[{"recipient_id": "webchat:1", "text": "hi"}])
        return httpx.Response(200, json={})

    client = RasaClient("http://rasa", token="secret", transport=httpx.MockTransport(rasa))
    try:
        answer = await client.turn("webchat:1", "hi")
        assert answer.replies == [{"recipient_id": "webchat:1", "text": "hi"}]
        await client.resume("webchat:1")
    finally:
        await client.aclose()
    turn, resume = seen
    # the channel takes the header; the token stays out of its URL (and Rasa's logs)
    assert turn.headers["Authorization"] == "Bearer secret"
    assert "token" not in turn.url.params
    assert resume.url.params["token"] == "secret"
    assert resume.url.params["include_events"] == "NONE"


@pytest.mark.parametrize("base", ["http://rasa:5005", "http://rasa:5005/", "http://lb/rasa/"])
async def test_a_turn_goes_to_the_channel_under_the_base_address(base: str) -> None:
    """The turn's address is made once, from the base address with or without its slash."""
    seen: list[httpx.URL] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json=[])

    client = RasaClient(base, transport=httpx.MockTransport(rasa))
    try:
        await client.turn("webchat:1", "hi")
        await client.turn("webchat:1", "again")
    finally:
        await client.aclose()
    expected = f"{base.rstrip('/')}/webhooks/rest/webhook?reading=true"
    assert [str(url) for url in seen] == [expected, expected]
