"""Borrower messages of many chats logged in one call: Rasa's channel logs the messages that
reach it together in one call (nlu/inbound_log.py), not one call each. Each message is logged
and answered exactly as `POST /conversations/{channel}/{user_id}/inbound` logs and answers it
(routes.py's `receive_inbound`); what is paid once a batch is the HTTP call, on the backend
and on Rasa's event loop, which every other borrower's turn waits for.

Each message stands alone: one the backend refuses (a malformed one: 422) or cannot log (the
database failed) gets its own `{"error": ...}` in its place, and the others are logged. They
are logged in their order, in one transaction."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from backend.api_errors import error_responses
from backend.conversations.inbound import Received
from backend.conversations.paths import ChatPath
from backend.conversations.routes import (
    InboundMessage,
    InboundResult,
    inbound_result,
    log_received,
)
from backend.monitoring import request_ids
from backend.outreach.rules import is_opt_out
from backend.session_turns import in_session

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
    messages: list[tuple[int, ChatMessage]] = []
    for at, raw in enumerate(body.messages):
        try:
            messages.append((at, ChatMessage.model_validate(raw)))
        except ValidationError:
            results[at] = NotLogged(error="refused", status=422)
    words = request.app.state.outreach.compliance.opt_out_words
    logged = await in_session(request, partial(_log_all, messages, words))
    for at, (received, opted_out) in logged.items():
        results[at] = inbound_result(request, received, opted_out=opted_out)
    return InboundResults(results=results)


def _log_all(
    messages: list[tuple[int, ChatMessage]], opt_out_words: Any, session: Session
) -> dict[int, tuple[Received, bool]]:
    """The messages in their order in one transaction, one commit (on SQLite, the commit is
    most of a message's cost). All at once first; should the database fail on one, that is
    undone and they are logged again, each in a savepoint of its own, so that the one that
    fails is undone alone and gets no result. A savepoint a message is two more statements
    each (on PostgreSQL, two more round trips), for a failure that hardly ever comes."""
    try:
        with session.begin_nested():
            return _logged(messages, opt_out_words, session, alone=False)
    except Exception:
        return _logged(messages, opt_out_words, session, alone=True)


def _logged(
    messages: list[tuple[int, ChatMessage]], opt_out_words: Any, session: Session, *, alone: bool
) -> dict[int, tuple[Received, bool]]:
    logged: dict[int, tuple[Received, bool]] = {}
    for at, message in messages:
        request_ids.bind(request_ids.well_formed(message.request_id) or request_ids.new())
        opt_out = message.kind == "text" and is_opt_out(message.text, opt_out_words)
        log_it = partial(log_received, message.channel, message.user_id, message, opt_out, False)
        if not alone:
            logged[at] = log_it(session)
            continue
        try:
            with session.begin_nested():
                logged[at] = log_it(session)
        except Exception as exc:  # the kind only: an error's text can hold the words
            log.warning("inbound: a message was not logged (%s)", type(exc).__name__)
    return logged
