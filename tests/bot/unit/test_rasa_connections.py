"""The gateway's turns reach Rasa over a bounded pool of connections kept open
(bot/rasa_client.py): a busy Rasa accepts new connections slowly, so however many borrowers
write at once, the gateway opens at most `connections` and keeps using them; the turns beyond
them wait their turn in the gateway, and every one is answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot import request_ids
from bot.http_transport import AiohttpTransport
from bot.rasa_client import RasaClient, RasaUnavailable
from tests.ports import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Rasa:
    """Rasa's channel, slow enough that the turns overlap; counts connections and turns."""

    def __init__(self) -> None:
        self.connections: set[int] = set()
        self.in_flight = 0
        self.most_in_flight = 0
        self.seen: list[tuple[Any, str, object]] = []  # headers: case-insensitive

    async def webhook(self, request: web.Request) -> web.Response:
        self.connections.add(id(request.transport))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        body = await request.json()
        self.seen.append((request.headers.copy(), request.path_qs, body))
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        return web.json_response(
            {"replies": [{"recipient_id": body["sender"], "text": "hi"}], "reading": None}
        )


@contextlib.asynccontextmanager
async def serving(webhook: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """A local server answering Rasa's channel path with `webhook`; its address."""
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[Rasa, str]]:
    server = Rasa()
    async with serving(server.webhook) as url:
        yield server, url


async def test_many_borrowers_at_once_share_a_few_kept_connections(
    rasa: tuple[Rasa, str],
) -> None:
    server, url = rasa
    client = RasaClient(url, token="t", connections=4)
    try:
        answers = await asyncio.gather(*(client.turn(f"webchat:{i}", "hi") for i in range(40)))
        assert [a.replies[0]["recipient_id"] for a in answers] == [
            f"webchat:{i}" for i in range(40)
        ]
        assert server.most_in_flight == 4
        assert len(server.connections) == 4
        first = set(server.connections)

        await asyncio.sleep(0.3)  # a pause between messages: the connections stay open
        await asyncio.gather(*(client.turn(f"webchat:{i}", "again") for i in range(12)))
        assert server.connections == first
    finally:
        await client.aclose()


async def test_the_pool_size_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import GatewaySettings

    monkeypatch.setenv("RASA_CONNECTIONS", "8")
    assert GatewaySettings(_env_file=None).rasa_connections == 8  # type: ignore[call-arg]
    monkeypatch.setenv("RASA_CONNECTIONS", "0")
    with pytest.raises(ValueError, match="rasa_connections"):
        GatewaySettings(_env_file=None)  # type: ignore[call-arg]


async def test_a_turn_goes_straight_over_aiohttp_as_httpx_would_send_it(
    rasa: tuple[Rasa, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn, every borrower message, skips httpx's objects (bot/http_transport.py): Rasa
    gets the same path, body, token and request id as from httpx's own transport."""

    async def through_httpx(*_: Any) -> None:
        raise AssertionError("the turn went through httpx's client")

    monkeypatch.setattr(AiohttpTransport, "handle_async_request", through_httpx)
    server, url = rasa
    direct, plain = (
        RasaClient(url, token="t"),
        RasaClient(url, token="t", transport=httpx.AsyncHTTPTransport()),
    )
    try:
        with request_ids.scope("r" * 20):
            for client in (direct, plain):
                answer = await client.turn(
                    "webchat:7",
                    "你好",
                    {"app_language": "zh"},
                    turn_id="g1",
                    inbound={"text": "你好"},
                )
                assert answer.replies == [{"recipient_id": "webchat:7", "text": "hi"}]
        (headers, path, body), (headers_httpx, path_httpx, body_httpx) = server.seen
        assert (path, body) == (path_httpx, body_httpx)
        assert path == "/webhooks/rest/webhook?reading=true"
        assert body == {
            "sender": "webchat:7",
            "message": "你好",
            "inbound": {"text": "你好"},
            "metadata": {"app_language": "zh", "turn": "g1"},
        }
        for name in ("Authorization", "X-Request-Id", "Content-Type", "Content-Length"):
            assert headers[name] == headers_httpx[name], name
    finally:
        await direct.aclose()
        await plain.aclose()


@pytest.mark.parametrize(
    ("status", "again"), [(503, True), (502, True), (500, False), (401, False), (302, False)]
)
async def test_a_direct_turn_fails_as_through_httpx(status: int, again: bool) -> None:
    """Rasa's "not now" is sent again, its error or refusal is not (bot/rasa_client.py)."""
    calls: list[int] = []

    async def answer(_: web.Request) -> web.Response:
        calls.append(status)
        return web.json_response({"error": "no"}, status=status)

    async with serving(answer) as url:
        client = RasaClient(url, token="t", retry_seconds=0.0)
        refused = RasaClient(f"http://127.0.0.1:{free_port()}", token="t", retry_seconds=0.0)
        try:
            with pytest.raises(RasaUnavailable) as failed:
                await client.turn("webchat:1", "hi", turn_id="g1")
            assert (str(failed.value), failed.value.again, calls) == (
                "HTTPStatusError",
                again,
                [status],
            )
            with pytest.raises(RasaUnavailable) as down:
                await refused.turn("webchat:1", "hi", turn_id="g1")
            assert (str(down.value), down.value.again) == ("ConnectError", True)
        finally:
            await client.aclose()
            await refused.aclose()
