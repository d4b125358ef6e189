"""The web chat channel: a session from the gateway (POST /webchat/sessions), Rasa's REST
bodies at /webchat/messages, live pushes by Server-Sent Events, the chat's history, and the page
itself at /webchat. Every call but the page and the session needs the session's token, as
`Authorization: Bearer` or as the page's HttpOnly cookie (EventSource cannot set headers);
never in the address, which ends up in logs and browser history."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field

from bot import metrics, texts
from bot.backend_client import BackendUnavailable
from bot.relay import Incoming, Relay
from bot.text_cleaning import clean
from bot.webchat_sessions import ChatSession, SessionTokens, new_sender

STATIC = Path(__file__).resolve().parent / "static"
SENDER_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"
PING_SECONDS = 15.0
COOKIE = "webchat_session"

router = APIRouter(tags=["web chat"])


def _cleaned(value: Any) -> Any:
    # First thing, before the length checks: NUL and lone surrogates cannot be stored.
    return clean(value) if isinstance(value, str) else value


CleanText = Annotated[str, BeforeValidator(_cleaned)]


class WebchatMetadata(BaseModel):
    language: str | None = Field(default=None, pattern="^(zh|en)$")
    button_title: CleanText | None = Field(default=None, max_length=200)
    message_id: CleanText | None = Field(
        default=None, max_length=64, description="the page's id for it: a resend counts once"
    )


class WebchatMessage(BaseModel):
    sender: str = Field(pattern=SENDER_PATTERN, description="the session's sender id")
    message: CleanText = Field(min_length=1, max_length=4096)
    metadata: WebchatMetadata | None = None


class Problem(BaseModel):
    detail: str


NEEDS_SESSION: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no valid session token for this chat"}
}


class WebchatSession(BaseModel):
    sender: str = Field(description="the chat's id: send it with every message")
    token: str = Field(description="the chat's secret: `Authorization: Bearer <token>`")


def _tokens(request: Request) -> SessionTokens:
    tokens: SessionTokens = request.app.state.webchat_tokens
    return tokens


def _credential(request: Request) -> tuple[str | None, bool]:
    """The token the call carries, and whether it came as the cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    return request.cookies.get(COOKIE), True


def remember(response: Response, request: Request, token: str) -> None:
    """The token as the page's cookie: HttpOnly (no script reads it), SameSite=Strict (no
    other site's page sends it), Secure in production, for the web chat's paths only."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(_tokens(request).idle_seconds),
        path="/webchat",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.webchat_cookie_is_secure,
    )


@dataclass(frozen=True, slots=True)
class Authorized:
    session: ChatSession
    renewed: str | None  # a new token for the cookie, when the chat's one was due for it


async def chat_session(request: Request) -> Authorized:
    """The chat the call's token proves, else 401 (the page then starts a new session). An
    HMAC and no I/O: `async`, so FastAPI runs it on the event loop, not in a worker thread."""
    tokens, now = _tokens(request), time.time()
    token, from_cookie = _credential(request)
    session = tokens.verify(token, now)
    if session is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "no valid web chat session: start one with POST /webchat/sessions",
            headers={"WWW-Authenticate": "Bearer"},
        )
    renewed = (
        tokens.issue(session.sender, now) if from_cookie and tokens.stale(session, now) else None
    )
    return Authorized(session, renewed)


ChatDep = Annotated[Authorized, Depends(chat_session)]


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


@router.post(
    "/webchat/sessions",
    response_model=WebchatSession,
    responses={201: {"model": WebchatSession, "description": "a new chat"}},
)
async def start_session(request: Request, response: Response) -> WebchatSession:
    """A chat: its sender id and token (also set as the page's cookie). A call that still
    carries a valid token continues that chat with a fresh token; any other starts a new one."""
    tokens, now = _tokens(request), time.time()
    current = tokens.verify(_credential(request)[0], now)
    sender = current.sender if current else new_sender()
    token = tokens.issue(sender, now)
    remember(response, request, token)
    response.status_code = status.HTTP_200_OK if current else status.HTTP_201_CREATED
    response.headers["Cache-Control"] = "no-store"
    return WebchatSession(sender=sender, token=token)


@router.post(
    "/webchat/messages",
    responses={
        **NEEDS_SESSION,
        400: {"model": Problem, "description": "a body that is not JSON"},
        413: {"model": Problem, "description": "a body past GATEWAY_MAX_BODY_BYTES"},
        429: {"model": Problem, "description": "past WEBCHAT_MESSAGES_PER_MINUTE"},
    },
)
async def post_message(
    body: WebchatMessage, request: Request, response: Response, chat: ChatDep
) -> list[dict[str, Any]]:
    """One borrower message; the assistant's replies as Rasa's REST channel gives them (none
    while a collector has the chat: their replies arrive on /webchat/events)."""
    started = time.perf_counter()
    if body.sender != chat.session.sender:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the token is not this sender's",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if chat.renewed:
        remember(response, request, chat.renewed)
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
    if out:
        metrics.REPLIES_SENT.labels("webchat").inc(len(out))
        metrics.REPLY_SECONDS.labels("webchat").observe(time.perf_counter() - started)
    return out


@router.get(
    "/webchat/history",
    responses={
        **NEEDS_SESSION,
        503: {"model": Problem, "description": "the backend is not reachable"},
    },
)
async def history(request: Request, response: Response, chat: ChatDep) -> dict[str, Any]:
    """The chat's last 100 messages, oldest first, for a page opened again."""
    sender = chat.session.sender
    if chat.renewed:
        remember(response, request, chat.renewed)
    relay = _relay(request)
    await relay.settle(f"webchat:{sender}")  # the last replies are in it
    try:
        messages = await relay.backend.transcript("webchat", sender, last=100)
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


@router.get("/webchat/events", responses=NEEDS_SESSION)
async def events(request: Request, chat: ChatDep) -> StreamingResponse:
    """Server-Sent Events: messages sent to this chat later (a collector, a notice)."""
    hub, sender = request.app.state.hub, chat.session.sender

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

    response = StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    if chat.renewed:
        remember(response, request, chat.renewed)
    return response
