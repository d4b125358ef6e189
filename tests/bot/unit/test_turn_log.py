"""The turn log: the turns answered within a moment reach the backend in one call; a batch it
refuses goes again turn by turn; a turn it cannot take stays in the spool for a later flush."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backend_client import BackendClient
from bot.spool import Spool
from bot.turn_log import Turn, TurnLog

pytestmark = pytest.mark.anyio


class FakeBackend:
    """`POST /turns` and `POST .../messages/{id}/turn`: a turn of message 13 is refused (404),
    everything fails while `down`."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []  # the message ids of each call
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        body = json.loads(request.content)
        if request.url.path.endswith("/turns"):
            ids = [turn["message_id"] for turn in body["turns"]]
        else:
            ids = [int(request.url.path.split("/")[-2])]
        self.calls.append(ids)
        if 13 in ids:
            return httpx.Response(404, json={"detail": "no message 13", "code": "not_found"})
        return httpx.Response(201, json={"turns": len(ids)} if len(ids) > 1 else [])


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool(tmp_path / "spool.sqlite3")
    yield s
    s.close()


def backend_of(fake: FakeBackend) -> BackendClient:
    return BackendClient("http://backend", "t", transport=httpx.MockTransport(fake.handler))


async def turn(spool: Spool, message_id: int) -> Turn:
    replies = [{"sender": "bot", "text": "好的", "external_id": f"w{message_id}:r0"}]
    reading = {"intent": "greet", "confidence": 0.9, "entities": []}
    row = await spool.write_ahead("webchat", "u1", replies, {"message_id": message_id})
    return Turn(row, "webchat", "u1", message_id, reading, replies)


def rows(spool: Spool) -> list[tuple[int, int]]:
    """(ahead, id) of every row the spool holds."""
    return list(spool._db.execute("SELECT ahead, id FROM spool ORDER BY id"))


async def test_the_turns_of_a_moment_go_in_one_call_and_leave_the_spool(
    fake: FakeBackend, spool: Spool
) -> None:
    log = TurnLog(backend_of(fake), spool, wait=0.05)
    turns = [await turn(spool, i) for i in (1, 2, 3)]
    await asyncio.gather(*(log.log(t) for t in turns))
    assert fake.calls == [[1, 2, 3]]
    assert rows(spool) == []


async def test_a_turn_after_the_moment_goes_in_the_next_call(
    fake: FakeBackend, spool: Spool
) -> None:
    log = TurnLog(backend_of(fake), spool, wait=0.05)
    first = asyncio.create_task(log.log(await turn(spool, 1)))
    await asyncio.sleep(0.1)
    await asyncio.gather(first, log.log(await turn(spool, 2)), log.log(await turn(spool, 3)))
    assert fake.calls == [[1], [2, 3]]


async def test_hurried_the_turns_go_at_once(fake: FakeBackend, spool: Spool) -> None:
    log = TurnLog(backend_of(fake), spool, wait=30)
    started = time.monotonic()
    logging_them = asyncio.gather(log.log(await turn(spool, 1)), log.log(await turn(spool, 2)))
    await asyncio.sleep(0)
    log.hurry()
    await logging_them
    assert fake.calls == [[1, 2]] and time.monotonic() - started < 5


async def test_without_a_wait_each_turn_goes_at_once(fake: FakeBackend, spool: Spool) -> None:
    log = TurnLog(backend_of(fake), spool, wait=0)
    for i in (1, 2):
        await log.log(await turn(spool, i))
    assert fake.calls == [[1], [2]]


async def test_a_refused_batch_goes_turn_by_turn_and_the_refused_turn_is_kept(
    fake: FakeBackend, spool: Spool
) -> None:
    log = TurnLog(backend_of(fake), spool, wait=0.01)
    turns = [await turn(spool, i) for i in (12, 13, 14)]
    await asyncio.gather(*(log.log(t) for t in turns))
    assert fake.calls == [[12, 13, 14], [12], [13], [14]]
    assert rows(spool) == [(0, turns[1].row)]  # kept for the flush, which sets it aside
    assert spool.pending() == 1


async def test_a_backend_without_the_batch_call_takes_the_turns_one_by_one(
    fake: FakeBackend, spool: Spool
) -> None:
    def older(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/turns"):
            return httpx.Response(404, json={"detail": "Not Found"})
        return fake.handler(request)

    backend = BackendClient("http://backend", "t", transport=httpx.MockTransport(older))
    await TurnLog(backend, spool, wait=0).log(await turn(spool, 1))
    assert fake.calls == [[1]] and rows(spool) == []


async def test_while_the_backend_is_down_every_turn_is_kept(
    fake: FakeBackend, spool: Spool
) -> None:
    fake.down = True
    log = TurnLog(backend_of(fake), spool, wait=0.01)
    turns = [await turn(spool, i) for i in (1, 2)]
    await asyncio.gather(*(log.log(t) for t in turns))
    assert spool.pending() == 2
    fake.down = False
    assert await spool.flush(backend_of(fake)) == 2  # logged by the flush, as any kept batch


def test_a_turns_body_is_what_the_backend_takes() -> None:
    body: dict[str, Any] = Turn(7, "telegram", "42", 5, None, []).body()
    assert body == {
        "channel": "telegram",
        "user_id": "42",
        "message_id": 5,
        "reading": None,
        "replies": [],
    }
