"""The transcript: the gateway logs every message in and out (verified or not); collectors and
operations read it back."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.conversations import service
from backend.conversations.messages import (
    SENDERS,
    Message,
    NewMessage,
    annotate,
    by_external_id,
    log_chat_messages,
    log_turn,
    message_in_chat,
    transcript,
)
from backend.conversations.paths import ChannelPath
from backend.conversations.routes import UserPath
from backend.deps import ActorDep, SessionDep
from backend.errors import Invalid, NotFound
from backend.ids import RowId, RowIdQuery
from backend.iso_dates import IsoDatetime
from backend.session_turns import in_session
from backend.text_fields import CleanJSON, CleanText, StoredText

router = APIRouter(
    prefix="/conversations/{channel}/{user_id}/messages",
    tags=["conversations"],
    responses=error_responses(404),
)

MAX_BATCH = 100


class Button(BaseModel):
    model_config = ConfigDict(extra="allow")

    title: CleanText = Field(max_length=200)
    payload: CleanText = Field(max_length=1000)


class MessageCreate(BaseModel):
    sender: StoredText = Field(json_schema_extra={"enum": list(SENDERS)})
    text: CleanText = Field(
        default="", max_length=10_000, description="a NUL or lone surrogate is dropped"
    )
    author: StoredText | None = Field(default=None, max_length=100, description="the collector")
    buttons: list[Button] | None = None
    intent: StoredText | None = Field(default=None, max_length=100, description="borrower messages")
    confidence: float | None = Field(default=None, description="0 to 1, borrower messages")
    entities: Annotated[list[dict[str, Any]] | None, CleanJSON] = Field(
        default=None, description="as Rasa extracted them, borrower messages"
    )
    sent_at: IsoDatetime | None = Field(default=None, description="now when left out")
    external_id: StoredText | None = Field(
        default=None,
        max_length=100,
        description="the channel's message id: the same message logged twice is kept once",
    )

    def new(self) -> NewMessage:
        return NewMessage(
            sender=self.sender,
            text=self.text,
            author=self.author,
            buttons=[b.model_dump() for b in self.buttons] if self.buttons is not None else None,
            intent=self.intent,
            confidence=self.confidence,
            entities=self.entities,
            sent_at=self.sent_at,
            external_id=self.external_id,
        )


class MessagePublic(BaseModel):
    id: int
    sender: str
    author: str | None
    text: str
    buttons: list[dict[str, Any]] | None
    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]] | None
    sent_at: datetime
    external_id: str | None

    @classmethod
    def of(cls, m: Message) -> MessagePublic:
        return cls(
            id=m.id,
            sender=m.sender,
            author=m.author,
            text=m.text,
            buttons=m.buttons,
            intent=m.intent,
            confidence=m.confidence,
            entities=m.entities,
            sent_at=m.sent_at,
            external_id=m.external_id,
        )


class NLUReading(BaseModel):
    intent: StoredText | None = Field(default=None, max_length=100)
    confidence: float | None = Field(default=None, description="0 to 1")
    entities: Annotated[list[dict[str, Any]] | None, CleanJSON] = Field(
        default=None, description="as Rasa extracted them"
    )


class TurnLog(BaseModel):
    reading: NLUReading | None = Field(
        default=None, description="what the NLU understood of the borrower's message"
    )
    replies: list[MessageCreate] = Field(
        default_factory=list, max_length=MAX_BATCH, description="the assistant's, in order"
    )

    def reading_logged(self) -> NewMessage | None:
        """The reading as the borrower message takes it."""
        if self.reading is None:
            return None
        return NewMessage(
            sender="borrower",
            intent=self.reading.intent,
            confidence=self.reading.confidence,
            entities=self.reading.entities,
        )


class Transcript(BaseModel):
    mode: str = Field(description="bot or human")
    messages: list[MessagePublic]
    next_after: int | None = Field(
        description="pass as `after` for the next page; None when this page is the last"
    )


@router.post(
    "",
    response_model=list[MessagePublic],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
def post_messages(
    channel: ChannelPath,
    user_id: UserPath,
    body: Annotated[
        MessageCreate | list[MessageCreate],
        Body(description=f"one message, or a batch of up to {MAX_BATCH} in the order sent"),
    ],
    session: SessionDep,
) -> list[MessagePublic]:
    """Log messages of a chat (creating the conversation on its first message). Intent,
    confidence and entities are for borrower messages. All or nothing."""
    batch = body if isinstance(body, list) else [body]
    if not 1 <= len(batch) <= MAX_BATCH:
        raise Invalid(f"send 1 to {MAX_BATCH} messages at a time", code="bad_batch")
    logged = log_chat_messages(
        session, channel=channel, user_id=user_id, messages=[m.new() for m in batch]
    )
    return [MessagePublic.of(m) for m in logged]


@router.get("", response_model=Transcript)
def get_transcript(
    channel: ChannelPath,
    user_id: UserPath,
    session: SessionDep,
    actor: ActorDep,
    after: Annotated[
        int | None,
        RowIdQuery,
        Query(description="the last message id already seen"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Transcript:
    """The chat's messages, oldest first, a page at a time."""
    conversation = service.find(session, channel, user_id)
    if conversation is None:
        raise NotFound("no such conversation")
    page = transcript(session, conversation=conversation, after=after, limit=limit)
    if conversation.borrower_id is not None:
        audit(session, actor, "read", borrower_id=conversation.borrower_id, subject="transcript")
    return Transcript(
        mode=conversation.mode,
        messages=[MessagePublic.of(m) for m in page],
        next_after=page[-1].id if len(page) == limit else None,
    )


@router.get("/by-external-id/{external_id}", response_model=MessagePublic)
def get_message_by_external_id(
    channel: ChannelPath,
    user_id: UserPath,
    external_id: Annotated[StoredText, Path(max_length=100)],
    session: SessionDep,
) -> MessagePublic:
    """One message of the chat by the id its sender gave it: the gateway names an assistant's
    reply this way on a Telegram button before the reply is logged. Another chat's message is
    404, like one that does not exist."""
    conversation = service.find(session, channel, user_id)
    message = by_external_id(session, conversation.id, external_id) if conversation else None
    if message is None:
        raise NotFound("no such message in this conversation")
    return MessagePublic.of(message)


@router.get("/{message_id}", response_model=MessagePublic)
def get_message(
    channel: ChannelPath, user_id: UserPath, message_id: RowId, session: SessionDep
) -> MessagePublic:
    """One message of the chat (the gateway resolves a button press to the message that
    offered it). Another chat's message is 404, like one that does not exist."""
    return MessagePublic.of(
        message_in_chat(session, channel=channel, user_id=user_id, message_id=message_id)
    )


@router.patch("/{message_id}", response_model=MessagePublic)
def annotate_message(
    channel: ChannelPath,
    user_id: UserPath,
    message_id: RowId,
    body: NLUReading,
    session: SessionDep,
) -> MessagePublic:
    """What the NLU understood of a borrower message: intent, confidence and entities replace
    any earlier reading (a field left out is cleared). Any other sender's message is 422
    `nlu_on_reply`."""
    message = annotate(
        session,
        channel=channel,
        user_id=user_id,
        message_id=message_id,
        intent=body.intent,
        confidence=body.confidence,
        entities=body.entities,
    )
    return MessagePublic.of(message)


@router.post(
    "/{message_id}/turn",
    response_model=list[MessagePublic],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
async def post_turn(
    channel: ChannelPath,
    user_id: UserPath,
    message_id: RowId,
    body: TurnLog,
    request: Request,
) -> list[MessagePublic]:
    """A borrower message's turn in one call: what the NLU understood of it (as PATCH on the
    message) and the assistant's replies (as POST to the transcript; the same external ids
    are kept once). All or nothing; the replies come back with their ids."""
    # One worker-thread turn, as `/inbound`: this call too runs for every borrower message.
    return await in_session(request, partial(_turn, channel, user_id, message_id, body))


def _turn(
    channel: str, user_id: str, message_id: int, body: TurnLog, session: Session
) -> list[MessagePublic]:
    logged = log_turn(
        session,
        channel=channel,
        user_id=user_id,
        message_id=message_id,
        reading=body.reading_logged(),
        replies=[m.new() for m in body.replies],
    )
    return [MessagePublic.of(m) for m in logged]
