"""The request id of a borrower message, from the tracker's latest message metadata (the gateway
put it there) to the `X-Request-ID` of every call the action makes to the backend (a stand-in
that records what it is sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import request_ids
from actions.dialogue import ActionGreet
from tests import ports

GIVEN = "0123456789abcdef0123456789abcdef"


def tracker(metadata: Any) -> Tracker:
    return Tracker(
        sender_id="telegram:request-id-1",
        slots={"language": "en"},
        latest_message={"text": "hello", "intent": {"name": "greet"}, "metadata": metadata},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


@pytest.mark.parametrize(
    ("metadata", "found"),
    [
        ({"channel": "telegram", "request_id": GIVEN}, GIVEN),
        ({"channel": "telegram"}, None),
        (None, None),
        ({"request_id": "13800138000"}, None),  # not an id: never sent on
        ({"request_id": "x\r\nInjected: 1" + "a" * 20}, None),
        ({"request_id": 12345678901234567}, None),
    ],
)
def test_the_id_is_taken_only_when_well_formed(metadata: Any, found: str | None) -> None:
    assert request_ids.of(tracker(metadata)) == found


def free_port() -> int:
    return ports.free_port("actions")


@pytest_asyncio.fixture
async def stand_in(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str | None]]:
    """A backend that answers 404 to everything and keeps each call's X-Request-ID."""
    seen: list[str | None] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Request-ID"))
        return web.json_response({"detail": "no", "code": "not_found"}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    monkeypatch.setenv("BACKEND_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("SERVICE_TOKEN", "stand-in-token")
    yield seen
    await runner.cleanup()


@pytest.mark.asyncio
async def test_an_action_sends_the_messages_id_to_the_backend(stand_in: list[str | None]) -> None:
    await ActionGreet().run(CollectingDispatcher(), tracker({"request_id": GIVEN}), {})
    assert stand_in == [GIVEN]


@pytest.mark.asyncio
async def test_without_one_the_backend_makes_its_own(stand_in: list[str | None]) -> None:
    await ActionGreet().run(CollectingDispatcher(), tracker({"channel": "telegram"}), {})
    assert stand_in == [None]
