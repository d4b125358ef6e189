import os
import uuid

import pytest

from bot.dedupe import MemorySeen, RedisSeen

pytestmark = pytest.mark.anyio


async def test_memory_answers_first_time_once() -> None:
    seen = MemorySeen()
    assert await seen.first_time("telegram:1")
    assert not await seen.first_time("telegram:1")
    assert await seen.first_time("telegram:2")


async def test_memory_forgets_the_oldest_beyond_its_size() -> None:
    seen = MemorySeen(max_keys=2)
    for key in ("a", "b", "c"):
        assert await seen.first_time(key)
    assert await seen.first_time("a")  # forgotten
    assert not await seen.first_time("c")


async def test_redis_shares_what_was_seen_between_replicas() -> None:
    from redis.asyncio import Redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis = Redis.from_url(url)
    try:
        await redis.ping()
    except OSError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {url}")
    key = f"telegram:{uuid.uuid4()}"
    try:
        one, two = RedisSeen(redis), RedisSeen(redis)
        assert await one.first_time(key)
        assert not await two.first_time(key)
    finally:
        await redis.delete(f"gateway:seen:{key}")
        await redis.aclose()
