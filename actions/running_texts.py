"""The action server follows the texts version running in the backend: every few seconds it asks
`GET /api/v1/texts/running` (304 while nothing changed) and hands a new version to
actions.messages. A backend that cannot be reached changes nothing: the last version, or the
shipped texts, go on being said, and the next attempt comes at the same pace."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import httpx

from actions import messages

log = logging.getLogger(__name__)

PATH = "/api/v1/texts/running"


class RunningTexts:
    """One follower per process. `refresh()` is one attempt; `follow()` repeats it."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        every: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base = (base_url or os.environ.get("BACKEND_URL", "http://127.0.0.1:8000")).rstrip("/")
        token = token or os.environ.get("SERVICE_TOKEN", "dev-service-token")
        if every is None:
            every = float(os.environ.get("TEXTS_REFRESH_SECONDS", "3"))
        self.every = every
        self._client = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}", "X-Service-Name": "actions"},
            timeout=httpx.Timeout(2.0),
            transport=transport,
        )
        self._etag: str | None = None
        self._reachable = True

    async def refresh(self) -> bool:
        """One attempt; whether the backend answered with something usable."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            response = await self._client.get(PATH, headers=headers)
            if response.status_code == 304:
                return self._answered()
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            version = int(body["version"])
            texts, buttons = dict(body["texts"]), dict(body["buttons"])
            experiments = dict(body.get("experiments") or {})
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if self._reachable:  # once per outage, not every few seconds
                log.warning("texts: backend not reachable (%s); saying the texts in use", exc)
            self._reachable = False
            return False
        if version != messages.running_version():
            messages.use_running(version, texts, buttons, experiments)
            log.info("texts version %s in use", version)
        self._etag = response.headers.get("ETag")
        return self._answered()

    def _answered(self) -> bool:
        if not self._reachable:
            log.info("texts: backend reachable again")
        self._reachable = True
        return True

    async def follow(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.every)

    async def close(self) -> None:
        await self._client.aclose()
