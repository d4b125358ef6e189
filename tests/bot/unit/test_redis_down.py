"""The gateway's use of Redis while Redis is down: a Telegram update is taken as new (handled
at worst twice, never dropped), a web chat push is tried again later, and an open page's
subscription waits for Redis instead of failing the page."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.backend_client import OutboundItem
from bot.dedupe import RedisSeen
from bot.hub import HubUnavailable, RedisHub
from bot.outbound import WebchatDeliverer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def redis_down() -> AsyncIterator[Any]:
    """A client of a Redis that is not there (nothing listens on its port)."""
    from redis.asyncio import Redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/1")
    yield redis
    await redis.aclose()


async def test_an_update_is_taken_as_new(redis_down: Any) -> None:
    seen = RedisSeen(redis_down)
    await seen.remember("telegram:1")  # not kept, and no failure
    assert not await seen.handled("telegram:1")


async def test_a_push_is_tried_again_later(redis_down: Any) -> None:
    hub = RedisHub(redis_down)
    with pytest.raises(HubUnavailable):
        await hub.publish("w-page", {"text": "您好"})
    item = OutboundItem.of(
        {"id": 1, "channel": "webchat", "user_id": "w-page", "text": "您好", "sender": "collector"}
    )
    delivery = await WebchatDeliverer(hub).deliver(item)
    assert delivery.status == "retry" and delivery.retry_after_seconds


async def test_an_open_page_waits_for_redis(redis_down: Any) -> None:
    hub = RedisHub(redis_down)
    async with hub.subscribe("w-page") as queue:
        await asyncio.sleep(0.2)  # the subscription fails and is tried again meanwhile
        assert queue.empty()


def redis_server(port: int) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("redis-server is needed: make prod-deps")
        pytest.skip("no redis-server")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    return proc


async def test_an_open_page_hears_pushes_again_once_redis_is_back() -> None:
    from redis.asyncio import Redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = redis_server(port)
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/1")
    hub = RedisHub(redis)
    try:
        async with hub.subscribe("w-page") as queue:
            await wait_until_subscribed(redis)
            server.terminate()
            server.wait()
            with pytest.raises(HubUnavailable):
                await hub.publish("w-page", {"text": "during"})
            server = redis_server(port)
            await wait_until_subscribed(redis)
            await hub.publish("w-page", {"text": "after"})
            assert (await asyncio.wait_for(queue.get(), 5)) == {"text": "after"}
    finally:
        server.terminate()
        server.wait()
        await redis.aclose()


async def wait_until_subscribed(redis: Any) -> None:
    """Until Redis counts the page's subscription."""
    from redis.exceptions import RedisError

    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(RedisError):
            counts = await redis.pubsub_numsub("webchat:w-page")
            if counts and counts[0][1]:
                return
        assert time.monotonic() < deadline, "the page's subscription did not come back"
        await asyncio.sleep(0.1)
