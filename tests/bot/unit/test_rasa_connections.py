"""The gateway's turns reach Rasa over a bounded pool of connections kept open
(bot/rasa_client.py): a busy Rasa accepts new connections slowly, so however many borrowers
write at once, the gateway opens at most `connections` and keeps using them; the turns beyond
them wait their turn in the gateway, and every one is answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.rasa_client import RasaClient
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

    async def webhook(self, request: web.Request) -> web.Response:
        self.connections.add(id(request.transport))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        body = await request.json()
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        return web.json_response(
            {"replies": [{"recipient_id": body["sender"], "text": "hi"}], "reading": None}
        )


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[Rasa, str]]:
    server = Rasa()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


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
