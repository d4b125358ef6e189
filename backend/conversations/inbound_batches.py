"""Borrower messages of many chats logged in one call: Rasa's channel logs the messages that
reach it together in one call (nlu/inbound_log.py), not one call each. Each message is logged
and answered exactly as `POST /conversations/{channel}/{user_id}/inbound` logs and answers it
(routes.py's `receive_inbound`); what is paid once a batch is the HTTP call, on the backend
and on Rasa's event loop, which every other borrower's turn waits for.

Each message stands alone: one the backend refuses (a malformed one: 422) or cannot log (the
database failed) gets its own `{"error": ...}` in its place, and the others are logged. The
messages of one chat are logged in their order; different chats' at once, as their own calls
would be."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from backend.api_errors import error_responses
from backend.conversations.paths import ChatPath
from backend.conversations.routes import InboundMessage, InboundResult, receive_inbound
from backend.monitoring import request_ids

log = logging.getLogger(__name__)

router = APIRouter(prefix="/inbound", tags=["conversations"], responses=error_responses(404))
MAX_MESSAGES = 64


class ChatMessage(ChatPath, InboundMessage):
    """One message with its chat; `request_id`: the gateway's for it, for the log lines."""

    request_id: str | None = Field(default=None, max_length=64)


class InboundBatch(BaseModel):
    messages: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description="each as ChatMessage: read one by one, so a malformed one refuses itself",
    )


class NotLogged(BaseModel):
    error: Literal["refused", "unavailable"] = Field(
        description="refused: malformed, not worth sending again; unavailable: try again"
    )
    status: int | None = Field(default=None, description="the status its own call would have")


class InboundResults(BaseModel):
    results: list[InboundResult | NotLogged] = Field(description="one a message, in its order")


@router.post("", response_model=InboundResults)
async def post_inbound(body: InboundBatch, request: Request) -> InboundResults:
    """Several borrower messages, each as `POST /conversations/{channel}/{user_id}/inbound`
    takes it, with its chat (`channel`, `user_id`); one result a message, in their order."""
    return await receive_batch(request, None, body)


async def receive_batch(request: Request, _: None, body: InboundBatch) -> InboundResults:
    """The route's work, also run before routing when the call is well formed (hot_routes.py)."""
    results: list[InboundResult | NotLogged] = [NotLogged(error="unavailable")] * len(body.messages)
    chats: dict[tuple[str, str], list[tuple[int, ChatMessage]]] = {}
    for at, raw in enumerate(body.messages):
        try:
            message = ChatMessage.model_validate(raw)
        except ValidationError:
            results[at] = NotLogged(error="refused", status=422)
            continue
        chats.setdefault((message.channel, message.user_id), []).append((at, message))

    async def log_in_order(messages: list[tuple[int, ChatMessage]]) -> None:
        for at, message in messages:  # a task of its own: the id is this task's alone
            request_ids.bind(request_ids.well_formed(message.request_id) or request_ids.new())
            try:  # a ChatMessage is both the chat and the message
                results[at] = await receive_inbound(request, message, message)
            except Exception as exc:  # the kind only: an error's text can hold the words
                log.warning("inbound: a message was not logged (%s)", type(exc).__name__)

    await asyncio.gather(*(log_in_order(messages) for messages in chats.values()))
    return InboundResults(results=results)
