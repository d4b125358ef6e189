"""The web chat channel: Rasa's REST bodies at /webchat/messages, live pushes by Server-Sent
Events, the chat's history, and the page itself at /webchat."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from bot import texts
from bot.backend_client import BackendUnavailable
from bot.relay import Incoming, Relay

STATIC = Path(__file__).resolve().parent / "static"
SENDER_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"
PING_SECONDS = 15.0

router = APIRouter(tags=["web chat"])
SenderQuery = Annotated[str, Query(pattern=SENDER_PATTERN, description="the page's chat id")]


class WebchatMetadata(BaseModel):
    language: str | None = Field(default=None, pattern="^(zh|en)$")
    button_title: str | None = Field(default=None, max_length=200)
    message_id: str | None = Field(
        default=None, max_length=64, description="the page's id for it: a resend counts once"
    )


class WebchatMessage(BaseModel):
    sender: str = Field(pattern=SENDER_PATTERN, description="the page's chat id, kept secret")
    message: str = Field(min_length=1, max_length=4096)
    metadata: WebchatMetadata | None = None


class RateLimit:
    """A sliding minute per sender: a page (or a script) cannot flood the assistant."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, sender: str) -> bool:
        now = time.monotonic()
        if len(self._sent) > 10_000:  # forget senders quiet for a minute
            for quiet in [k for k, v in self._sent.items() if not v or v[-1] < now - 60]:
                del self._sent[quiet]
        sent = self._sent[sender]
        while sent and sent[0] < now - 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return False
        sent.append(now)
        return True


def _relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


# The page has no inline script or style: a strict policy costs nothing. No referrer: the
# address may carry a one-time link token (?start=).
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/webchat", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC / "webchat.html", headers=PAGE_HEADERS)


@router.post("/webchat/messages")
async def post_message(body: WebchatMessage, request: Request) -> list[dict[str, Any]]:
    """One borrower message; the assistant's replies as Rasa's REST channel gives them (none
    while a collector has the chat: their replies arrive on /webchat/events)."""
    meta = body.metadata or WebchatMetadata()
    limiter: RateLimit = request.app.state.webchat_limit
    if not limiter.allow(body.sender):
        lang = texts.language_of(body.message, app=meta.language)
        raise HTTPException(429, texts.say("too_fast", lang))
    incoming = Incoming(
        channel="webchat",
        user_id=body.sender,
        text=body.message,
        external_id=f"w{meta.message_id}" if meta.message_id else None,
        kind="button" if meta.button_title else "text",
        shown=meta.button_title,
        app_language=meta.language,
        # The page's language button sends /language with the language picked.
        language_choice=meta.language if body.message.strip() == "/language" else None,
    )
    outcome = await _relay(request).handle(incoming)
    out: list[dict[str, Any]] = []
    for reply in outcome.replies:
        item: dict[str, Any] = {"recipient_id": body.sender, "text": reply.text}
        if reply.buttons:
            item["buttons"] = reply.buttons
        out.append(item)
    return out


@router.get("/webchat/history")
async def history(sender: SenderQuery, request: Request) -> dict[str, Any]:
    """The chat's last 100 messages, oldest first, for a page opened again."""
    try:
        messages = await _relay(request).backend.transcript("webchat", sender, last=100)
    except BackendUnavailable as exc:
        raise HTTPException(503, "the chat history is not available right now") from exc
    return {
        "messages": [
            {
                "from": m["sender"],
                "text": m["text"],
                "buttons": m.get("buttons"),
                "sent_at": m["sent_at"],
            }
            for m in messages
        ]
    }


@router.get("/webchat/events")
async def events(sender: SenderQuery, request: Request) -> StreamingResponse:
    """Server-Sent Events: messages sent to this chat later (a collector, a notice)."""
    hub = request.app.state.hub

    async def stream() -> AsyncIterator[str]:
        async with hub.subscribe(sender) as queue:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=PING_SECONDS)
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                yield f"event: message\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
