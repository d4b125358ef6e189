"""The gateway's client of Rasa: its REST channel for a turn (the replies and what the NLU
understood), its HTTP API for handing a chat back to the bot. Both need Rasa's token: the
channel as a bearer header (nlu/channels.py), the API as the `token` query parameter, the only
form Rasa 3.6's --auth-token takes.

A turn that fails on the way is sent again for up to `retry_seconds`: no Rasa replica could be
reached, the one that had it died (nginx answers 502), or Rasa could not run it (503: its lock
store or tracker store was down). Sending it again is safe: each turn carries the message's id,
and Rasa answers a turn it has run already from its tracker instead of running it twice
(nlu/turns.py). A turn that timed out is not sent again: the borrower has waited long enough."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bot import metrics, request_ids
from bot.http_transport import AiohttpTransport

RETRY_SECONDS = 20.0
FIRST_PAUSE, LONGEST_PAUSE = 0.5, 4.0
TURN_KEY, RETRY_KEY = "turn", "retry"  # what nlu/turns.py reads in a message's metadata
# What an attempt may end with and still be tried again: it failed before Rasa answered.
_AGAIN = frozenset({502, 503, 504})


# Rasa's server (uvloop) accepts one new connection per pass of its event loop, and a loop kept
# busy by the NLU makes only a few passes a second: a burst of new connections to a busy Rasa
# waited up to 10 s to be read (bench/RESULTS.md). So the turns go over a bounded pool of
# connections kept open (under Rasa's 120 s keep-alive and nginx's 75 s), and turns beyond it
# wait here, in order.
CONNECTIONS = 32
KEEPALIVE_SECONDS = 60.0

READING = {"reading": "true"}  # the channel's answer carries the message's NLU reading too


@dataclass(frozen=True, slots=True)
class Answer:
    replies: list[dict[str, Any]]
    reading: dict[str, Any] | None  # intent, confidence and entities, as the backend stores them
    # The backend's answer to the message's /inbound, which the channel made (or {"error"});
    # None when the message was not sent with `inbound`, or the channel does not log it.
    inbound: dict[str, Any] | None = None

    @classmethod
    def of(cls, body: Any) -> Answer:
        """The channel's answer: {"replies", "reading", "inbound"}, or a bare list of replies
        (Rasa's own REST channel, which has no reading)."""
        if isinstance(body, list):
            return cls(body, None)
        if not isinstance(body, dict):
            return cls([], None)
        replies = body.get("replies")
        reading = body.get("reading")
        inbound = body.get("inbound")
        return cls(
            replies if isinstance(replies, list) else [],
            reading if isinstance(reading, dict) else None,
            inbound if isinstance(inbound, dict) else None,
        )


class RasaUnavailable(Exception):
    """Rasa is down, timed out or failed: the turn did not happen."""

    def __init__(self, reason: str, *, again: bool = False) -> None:
        super().__init__(reason)
        self.again = again  # worth sending again (see the module's notes)


class RasaClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retry_seconds: float = RETRY_SECONDS,
        connections: int = CONNECTIONS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry_seconds = retry_seconds
        self._transport = transport or AiohttpTransport(
            max_connections=connections, keepalive_seconds=KEEPALIVE_SECONDS
        )
        self._direct = self._transport if isinstance(self._transport, AiohttpTransport) else None
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = httpx.Timeout(timeout)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=self._auth or None,
            timeout=self._timeout,
            transport=self._transport,
        )
        self._api_auth = {"token": token} if token else {}
        # Made once: httpx parses and joins a relative URL again for every request (0.1 ms of
        # the gateway's CPU a message).
        self._turn_url = httpx.URL(f"{base_url.rstrip('/')}/webhooks/rest/webhook", params=READING)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, call: str, method: str, path: str | httpx.URL, **kwargs: Any) -> Any:
        """`call` names it in gateway_rasa_errors_total (turn, resume)."""
        request_id = request_ids.current()
        headers = {request_ids.HEADER: request_id} if request_id else None
        try:
            direct = isinstance(path, httpx.URL) and kwargs.keys() == {"json"}
            if method == "POST" and direct and self._direct is not None:
                # A turn (its URL made whole once), every borrower message: the same request,
                # straight to aiohttp (bot/http_transport.py), the body as httpx encodes it.
                body = json.dumps(
                    kwargs["json"], ensure_ascii=False, separators=(",", ":"), allow_nan=False
                ).encode()
                status, content = await self._direct.post_json(
                    str(path), body, {**self._auth, **(headers or {})}, self._timeout
                )
                if 200 <= status < 300:  # anything else: httpx's error for it, below
                    return json.loads(content)
                response = httpx.Response(
                    status, content=content, request=httpx.Request(method, path)
                )
            else:
                response = await self._http.request(method, path, headers=headers, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            metrics.RASA_ERRORS.labels(call, _kind(exc)).inc()
            raise RasaUnavailable(type(exc).__name__, again=_again(exc)) from exc
        return response.json()

    async def turn(
        self,
        sender: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        turn_id: str | None = None,
        again: bool = False,
        inbound: dict[str, Any] | None = None,
    ) -> Answer:
        """One borrower message; the assistant's replies (text, buttons, custom) and what the
        NLU made of the message, in one call (nlu/channels.py). `turn_id` (the message's id)
        makes it safe to send again, on failure or when the channel delivers the message again
        (`again`: Rasa may have run it already). With `inbound` (the message as the backend
        logs it), the channel logs it first and runs the turn only if the bot has the chat."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if inbound is not None:
            body["inbound"] = inbound
        meta = dict(metadata or {})
        if turn_id:
            meta[TURN_KEY] = turn_id
            if again:
                meta[RETRY_KEY] = True
        if meta:
            body["metadata"] = meta
        give_up = time.monotonic() + self.retry_seconds
        pause = FIRST_PAUSE
        while True:
            try:
                answer = await self._call("turn", "POST", self._turn_url, json=body)
            except RasaUnavailable as exc:
                if not (exc.again and turn_id) or time.monotonic() + pause > give_up:
                    raise
                metrics.RASA_RETRIES.inc()
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                meta[RETRY_KEY] = True
                body["metadata"] = meta
                continue
            return Answer.of(answer)

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


def _again(exc: httpx.HTTPError) -> bool:
    """Failed before Rasa answered: no replica reached, or nginx's or Rasa's "not now"."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in _AGAIN
    slow = isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout)  # Rasa had it, for long
    return isinstance(exc, httpx.TransportError) and not slow


def _kind(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.HTTPStatusError):
        return "http_5xx" if exc.response.status_code >= 500 else "http_4xx"
    if isinstance(exc, httpx.TransportError):
        return "connection"
    return "other"
