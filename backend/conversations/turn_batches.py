"""Turns of many chats logged in one call: the gateway answers the borrower first and logs
the turns it answered in the last moment together (bot/turn_log.py). The HTTP call, the
worker-thread turn and the commit are then paid once a batch, not once a borrower message;
under load they were most of the backend's share of a message."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.api_errors import error_responses
from backend.conversations import messages
from backend.conversations.message_routes import MAX_BATCH, TurnLog
from backend.conversations.paths import ChannelName
from backend.ids import MAX_ROW_ID
from backend.session_turns import in_session
from backend.text_fields import StoredText

router = APIRouter(prefix="/turns", tags=["conversations"], responses=error_responses(404))


class ChatTurnLog(TurnLog):
    channel: ChannelName
    user_id: Annotated[StoredText, Field(max_length=128, description="the chat's id")]
    message_id: int = Field(ge=1, le=MAX_ROW_ID, description="the borrower message's id")


class TurnBatch(BaseModel):
    turns: list[ChatTurnLog] = Field(min_length=1, max_length=MAX_BATCH)


class TurnsLogged(BaseModel):
    turns: int
    replies: int = Field(description="replies logged, those logged before included")


@router.post("", response_model=TurnsLogged, status_code=status.HTTP_201_CREATED)
async def post_turns(body: TurnBatch, request: Request) -> TurnsLogged:
    """Several borrower messages' turns, each as `POST .../messages/{id}/turn` takes it, in
    one transaction: all or nothing (a turn the backend refuses refuses the batch, with that
    turn's answer; the gateway then sends the turns one by one)."""
    return await log_batch(request, None, body)


async def log_batch(request: Request, _: None, body: TurnBatch) -> TurnsLogged:
    """The route's work, also run before routing when the call is well formed (hot_routes.py)."""
    return await in_session(request, partial(_log_all, body))


def _log_all(body: TurnBatch, session: Session) -> TurnsLogged:
    turns = [
        messages.ChatTurn(
            turn.channel,
            turn.user_id,
            turn.message_id,
            reading=turn.reading_logged(),
            replies=[reply.new() for reply in turn.replies],
        )
        for turn in body.turns
    ]
    return TurnsLogged(turns=len(turns), replies=messages.log_turns(session, turns))
