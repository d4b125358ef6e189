"""The gateway's client of Rasa: its REST channel for a turn, its HTTP API for what the NLU
understood and for handing a chat back to the bot. Both need Rasa's token: the channel as a
bearer header (nlu/channels.py), the API as the `token` query parameter, the only form Rasa
3.6's --auth-token takes."""

from __future__ import annotations

from typing import Any

import httpx

from bot import metrics, request_ids


class RasaUnavailable(Exception):
    """Rasa is down, timed out or failed: the turn did not happen."""


class RasaClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else None,
            timeout=timeout,
            transport=transport,
        )
        self._api_auth = {"token": token} if token else {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, call: str, method: str, path: str, **kwargs: Any) -> Any:
        """`call` names it in gateway_rasa_errors_total (turn, parse, resume)."""
        request_id = request_ids.current()
        headers = {request_ids.HEADER: request_id} if request_id else None
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            metrics.RASA_ERRORS.labels(call, _kind(exc)).inc()
            raise RasaUnavailable(type(exc).__name__) from exc
        return response.json()

    async def turn(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One borrower message; the assistant's replies (text, buttons, custom)."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        replies = await self._call("turn", "POST", "/webhooks/rest/webhook", json=body)
        return replies if isinstance(replies, list) else []

    async def latest_parse(self, sender: str) -> dict[str, Any] | None:
        """What the NLU made of the sender's last message: intent, confidence, entities."""
        tracker = await self._call(
            "parse",
            "GET",
            f"/conversations/{sender}/tracker",
            params={"include_events": "NONE", **self._api_auth},
        )
        latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
        return latest if isinstance(latest, dict) else None

    async def resume(self, sender: str) -> None:
        """Hand the chat back to the bot: the tracker paused by the handoff runs again. The
        handoff paused it mid-turn, so the bot is put back to listening too: without that the
        next message would follow the handoff as if it were part of that turn."""
        await self._call(
            "resume",
            "POST",
            f"/conversations/{sender}/tracker/events",
            params={"include_events": "NONE", **self._api_auth},
            json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
        )


def _kind(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.HTTPStatusError):
        return "http_5xx" if exc.response.status_code >= 500 else "http_4xx"
    if isinstance(exc, httpx.TransportError):
        return "connection"
    return "other"
