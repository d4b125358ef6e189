"""Live push to open web chat pages (Server-Sent Events): a collector's reply or a reminder
reaches the page without a reload. In memory for one gateway; Redis pub/sub when several
replicas serve the pages.

Redis may be down for a while: a push then fails with HubUnavailable (the outbound sender tries
it again later; the message is in the chat's history meanwhile), and an open page's
subscription is made again once Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

log = logging.getLogger(__name__)

RESUBSCRIBE_SECONDS = 2.0


class HubUnavailable(Exception):
    """The push could not be made now (Redis is down): try again later."""


class Hub(Protocol):
    async def publish(self, sender: str, event: dict[str, Any]) -> int:
        """Push to every page open for the sender; how many received it."""
        ...

    def subscribe(
        self, sender: str
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Any]]: ...


class MemoryHub:
    def __init__(self) -> None:
        self._pages: defaultdict[str, set[asyncio.Queue[Any]]] = defaultdict(set)

    async def publish(self, sender: str, event: dict[str, Any]) -> int:
        pages = self._pages.get(sender, set())
        for queue in pages:
            queue.put_nowait(event)
        return len(pages)

    @contextlib.asynccontextmanager
    async def subscribe(self, sender: str) -> AsyncIterator[asyncio.Queue[Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        self._pages[sender].add(queue)
        try:
            yield queue
        finally:
            self._pages[sender].discard(queue)
            if not self._pages[sender]:
                del self._pages[sender]


class RedisHub:
    """Each open page subscribes to its sender's channel, whichever replica serves it."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis

    async def publish(self, sender: str, event: dict[str, Any]) -> int:
        from redis.exceptions import RedisError

        try:
            received: int = await self._redis.publish(
                f"webchat:{sender}", json.dumps(event, ensure_ascii=False)
            )
        except RedisError as exc:
            raise HubUnavailable(type(exc).__name__) from exc
        return received

    @contextlib.asynccontextmanager
    async def subscribe(self, sender: str) -> AsyncIterator[asyncio.Queue[Any]]:
        from redis.exceptions import RedisError

        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        pubsub = self._redis.pubsub()

        async def pump() -> None:
            # redis-py subscribes again by itself when it connects again; the first
            # subscription is made here, and made again while Redis is down.
            while True:
                try:
                    if not pubsub.subscribed:
                        await pubsub.subscribe(f"webchat:{sender}")
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            queue.put_nowait(json.loads(item["data"]))
                except RedisError as exc:
                    log.warning("web chat push: Redis unavailable (%s)", type(exc).__name__)
                    await asyncio.sleep(RESUBSCRIBE_SECONDS)

        task = asyncio.create_task(pump())
        try:
            yield queue
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(RedisError):
                await pubsub.unsubscribe()
            await pubsub.aclose()
