"""Updates handled already (Telegram delivers a webhook update again when it got no answer in
time): an update is remembered once it has been handled, and a later delivery of it is dropped.
Only once handled: a delivery whose gateway died on it must be handled by the next. Redis when
several gateway replicas share the work, memory otherwise."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)

SEEN_FOR_SECONDS = 24 * 3600


class SeenUpdates(Protocol):
    async def handled(self, key: str) -> bool:
        """Whether the update was handled already."""
        ...

    async def remember(self, key: str) -> None:
        """The update has been handled."""
        ...


class MemorySeen:
    def __init__(self, *, max_keys: int = 100_000, ttl: float = SEEN_FOR_SECONDS) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_keys
        self._ttl = ttl

    def _forget_old(self, now: float) -> None:
        while self._seen and next(iter(self._seen.values())) < now - self._ttl:
            self._seen.popitem(last=False)

    async def handled(self, key: str) -> bool:
        self._forget_old(time.monotonic())
        return key in self._seen

    async def remember(self, key: str) -> None:
        now = time.monotonic()
        self._forget_old(now)
        while len(self._seen) >= self._max:
            self._seen.popitem(last=False)
        self._seen[key] = now


class RedisSeen:
    """With Redis down, nothing was handled: an update handled twice is at worst answered twice
    (the backend logs a message once, Rasa runs a turn once); one dropped would be lost."""

    def __init__(self, redis: object) -> None:
        from redis.asyncio import Redis

        assert isinstance(redis, Redis)
        self._redis = redis

    async def handled(self, key: str) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis.exists(f"gateway:seen:{key}"))
        except RedisError as exc:
            log.warning("seen updates: Redis unavailable (%s); taken as new", type(exc).__name__)
            return False

    async def remember(self, key: str) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis.set(f"gateway:seen:{key}", 1, ex=SEEN_FOR_SECONDS)
        except RedisError as exc:
            log.warning("seen updates: Redis unavailable (%s); not kept", type(exc).__name__)
