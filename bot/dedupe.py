"""Updates seen already (Telegram delivers a webhook update again when it got no answer in
time): the first delivery is processed, later ones are dropped. Redis when several gateway
replicas share the work, memory otherwise."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

SEEN_FOR_SECONDS = 24 * 3600


class SeenUpdates(Protocol):
    async def first_time(self, key: str) -> bool: ...


class MemorySeen:
    def __init__(self, *, max_keys: int = 100_000, ttl: float = SEEN_FOR_SECONDS) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_keys
        self._ttl = ttl

    async def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now - self._ttl:
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        while len(self._seen) >= self._max:
            self._seen.popitem(last=False)
        self._seen[key] = now
        return True


class RedisSeen:
    def __init__(self, redis: object) -> None:
        from redis.asyncio import Redis

        assert isinstance(redis, Redis)
        self._redis = redis

    async def first_time(self, key: str) -> bool:
        return bool(await self._redis.set(f"gateway:seen:{key}", 1, nx=True, ex=SEEN_FOR_SECONDS))
