import os
import uuid

import pytest

from bot.dedupe import MemorySeen, RedisSeen

pytestmark = pytest.mark.anyio


async def test_an_update_is_handled_once_it_is_remembered() -> None:
    seen = MemorySeen()
    assert not await seen.handled("telegram:1")
    assert not await seen.handled("telegram:1")  # delivered again before it was handled
    await seen.remember("telegram:1")
    assert await seen.handled("telegram:1")
    assert not await seen.handled("telegram:2")


async def test_memory_forgets_the_oldest_beyond_its_size() -> None:
    seen = MemorySeen(max_keys=2)
    for key in ("a", "b", "c"):
        await seen.remember(key)
    assert not await seen.handled("a")  # forgotten
    assert await seen.handled("c")


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
        assert not await two.handled(key)
        await one.remember(key)
        assert await two.handled(key)
    finally:
        await redis.delete(f"gateway:seen:{key}")
        await redis.aclose()
