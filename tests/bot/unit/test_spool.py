"""The spool: a batch the backend will never take is set aside with its reason, and the
batches kept after it (other borrowers' messages) are still logged."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backend_client import BackendClient
from bot.spool import WRITE_AHEAD_GRACE, Spool, add_next_try

pytestmark = pytest.mark.anyio


class FakeBackend:
    """The backend's POST .../messages: 500 for a batch with "poison" in it (or 422 when
    `refuse` is set), every batch while `down`; the rest logged."""

    def __init__(self) -> None:
        self.logged: list[tuple[str, str]] = []
        self.turns: list[tuple[str, Any]] = []
        self.refuse = False
        self.down = False
        self.failing = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.failing:
            return httpx.Response(503)
        if request.url.path.endswith("/turn"):  # a turn: its reading and its replies
            turn = json.loads(request.content)
            user = request.url.path.split("/")[-4]
            self.turns.append((user, turn["reading"]))
            self.logged.extend((user, m["text"]) for m in turn["replies"])
            return httpx.Response(201, json=[{"id": n} for n, _ in enumerate(turn["replies"])])
        batch: list[dict[str, Any]] = json.loads(request.content)
        if any("poison" in m["text"] for m in batch):
            if self.refuse:
                return httpx.Response(422, json={"detail": "no", "code": "invalid_request"})
            return httpx.Response(500, text="Internal Server Error")
        user = request.url.path.split("/")[-2]
        self.logged.extend((user, m["text"]) for m in batch)
        return httpx.Response(201, json=[{"id": n} for n, _ in enumerate(batch)])


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
async def backend(fake: FakeBackend) -> AsyncIterator[BackendClient]:
    client = BackendClient("http://backend", "t", transport=httpx.MockTransport(fake.handler))
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def spool(tmp_path: Path, clock: Clock) -> Iterator[Spool]:
    kept = Spool(tmp_path / "spool.sqlite3", max_failures=3, clock=clock)
    yield kept
    kept.close()


def said(text: str) -> list[dict[str, Any]]:
    return [{"sender": "borrower", "text": text, "external_id": f"g-{text}"}]


async def test_a_batch_that_keeps_failing_is_set_aside_and_the_ones_after_it_are_logged(
    spool: Spool,
    backend: BackendClient,
    fake: FakeBackend,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await spool.keep("webchat", "w-poisoned", said("poison \u0000?"))
    await spool.keep("webchat", "w-other-1", said("I lost my job"))
    await spool.keep("telegram", "42", said("我明天还"))

    assert await spool.flush(backend) == 2  # the others flow past it
    assert fake.logged == [("w-other-1", "I lost my job"), ("42", "我明天还")]
    assert spool.pending() == 1

    assert await spool.flush(backend) == 0  # tried again only after a wait
    caplog.set_level(logging.INFO, "bot.spool")
    for wait in (5, 10):
        clock.now += wait
        await spool.flush(backend)
    assert spool.pending() == 0
    [aside] = spool.set_aside()
    assert aside["user_id"] == "w-poisoned" and aside["messages"] == said("poison \u0000?")
    assert aside["reason"] == "backend answered 500, 3 times"
    assert spool.set_aside_count() == 1
    logged = caplog.text
    assert "set aside" in logged
    assert "w-poisoned" not in logged and "poison" not in logged  # no chat, no words


async def test_a_batch_the_backend_refuses_is_set_aside_at_once(
    spool: Spool, backend: BackendClient, fake: FakeBackend
) -> None:
    fake.refuse = True
    await spool.keep("webchat", "w-refused", said("poison"))
    await spool.keep("webchat", "w-other-2", said("hello"))
    assert await spool.flush(backend) == 1
    assert [a["reason"] for a in spool.set_aside()] == ["refused 422 invalid_request"]
    assert spool.pending() == 0


async def test_while_the_backend_is_down_nothing_is_counted_against_a_batch(
    spool: Spool, backend: BackendClient, fake: FakeBackend, clock: Clock
) -> None:
    await spool.keep("webchat", "w-waiting", said("hello"))
    fake.down = True
    for _ in range(10):
        assert await spool.flush(backend) == 0
        clock.now += 600
    fake.down = False
    assert await spool.flush(backend) == 1
    assert spool.set_aside() == []


async def test_a_backend_failing_for_every_batch_is_not_tried_batch_after_batch(
    spool: Spool, backend: BackendClient, fake: FakeBackend
) -> None:
    for n in range(6):
        await spool.keep("webchat", f"w-outage-{n}", said(f"message {n}"))
    fake.failing = True
    assert await spool.flush(backend) == 0
    fake.failing = False
    # The three tried wait for their turn again; the three never tried go now.
    assert await spool.flush(backend) == 3
    assert spool.pending() == 3 and spool.set_aside() == []


def test_an_older_spool_file_gets_its_column_whichever_replica_adds_it(tmp_path: Path) -> None:
    # The gateway replicas share the spool file and start at the same moment: the one that
    # finds the column added by the other between its look and its change starts all the same.
    path = tmp_path / "spool.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE spool (id INTEGER PRIMARY KEY, channel TEXT NOT NULL, user_id TEXT NOT NULL,"
        " messages TEXT NOT NULL, refusals INTEGER NOT NULL DEFAULT 0)"
    )
    old.commit()
    Spool(path).close()  # the first replica adds it
    columns = [row[1] for row in old.execute("PRAGMA table_info(spool)")]
    assert columns.count("next_try") == 1
    real = old.execute  # the second looked before the first changed it

    class Stale:
        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith("PRAGMA"):
                return iter([(0, "id"), (1, "channel")])
            return real(sql, *args)

    add_next_try(Stale())  # type: ignore[arg-type]
    old.close()


async def test_a_turn_written_ahead_is_logged_as_a_turn_once_its_own_call_had_its_chance(
    spool: Spool, backend: BackendClient, fake: FakeBackend, clock: Clock
) -> None:
    # The relay writes a turn's replies here before it answers, then logs them itself. A
    # gateway killed in between leaves the row: a flush logs it, reading included, after
    # the grace its own call had; until then it is not counted as kept.
    turn = {"message_id": 7, "reading": {"intent": "greet", "confidence": 0.9, "entities": []}}
    replies = [{"sender": "bot", "text": "您好", "external_id": "w1:r0"}]
    await spool.write_ahead("webchat", "w-died", replies, turn)
    done = await spool.write_ahead("webchat", "w-logged", replies, turn)
    await spool.done(done)
    assert spool.pending() == 0
    assert await spool.flush(backend) == 0
    clock.now += WRITE_AHEAD_GRACE
    assert await spool.flush(backend) == 1
    assert fake.logged == [("w-died", "您好")]
    assert fake.turns == [("w-died", turn["reading"])]


async def test_a_turn_whose_call_failed_is_kept_and_flushed_at_once(
    spool: Spool, backend: BackendClient, fake: FakeBackend
) -> None:
    turn = {"message_id": 8, "reading": None}
    row = await spool.write_ahead("webchat", "w-late", [{"sender": "bot", "text": "ok"}], turn)
    await spool.failed_ahead(row)
    assert spool.pending() == 1
    assert await spool.flush(backend) == 1
    assert fake.logged == [("w-late", "ok")] and spool.pending() == 0
