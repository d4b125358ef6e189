"""API shapes of the outbox: queueing a message, the gateway's claim and delivery report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.conversations.service import language_of
from backend.outbound import rules
from backend.outbound.models import OutboundMessage
from backend.text_fields import CleanText, StoredText

# The transcript's limit; the gateway splits what is longer than a Telegram message (4,096).
MAX_TEXT = 10_000


class OutboundButton(BaseModel):
    title: CleanText = Field(min_length=1, max_length=200)
    payload: CleanText = Field(min_length=1, max_length=1000)


class OutboundCreate(BaseModel):
    text: CleanText = Field(min_length=1, max_length=MAX_TEXT)
    sender: str = Field(json_schema_extra={"enum": list(rules.SENDERS)})
    author: StoredText | None = Field(default=None, max_length=100, description="the collector")
    buttons: list[OutboundButton] | None = Field(default=None, max_length=20)


class OutboundPublic(BaseModel):
    id: int
    channel: str
    user_id: str
    message_id: int = Field(description="its row in the transcript")
    sender: str = Field(description="collector or system")
    author: str | None
    text: str
    buttons: list[dict[str, Any]] | None
    resume_bot: bool = Field(description="the gateway resumes the bot before delivering it")
    status: str = Field(description="pending, delivered, stored or failed")
    attempts: int = Field(description="times a gateway claimed it")
    next_attempt_at: datetime
    lease_until: datetime | None = Field(description="claimed by a gateway until then")
    delivered_at: datetime | None = Field(description="when reported delivered or stored")
    channel_message_id: str | None
    error: str | None = Field(description="the last delivery error reported")
    segments: int | None = Field(default=None, description="an SMS's length in segments")
    template: dict[str, Any] | None = Field(
        default=None,
        description="WhatsApp only: the approved template sent ({name, language, params}); "
        "text is its body filled in",
    )
    receipt: str | None = Field(
        default=None, description="what the channel said afterwards: sent, delivered, read, failed"
    )
    created_at: datetime

    @classmethod
    def of(cls, row: OutboundMessage) -> OutboundPublic:
        return cls(
            id=row.id,
            channel=row.conversation.channel,
            user_id=row.conversation.channel_user_id,
            message_id=row.message_id,
            sender=row.sender,
            author=row.author,
            text=row.message.text,  # as the transcript has it: an SMS's link token hidden
            buttons=row.buttons,
            resume_bot=row.resume_bot,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            lease_until=row.lease_until,
            delivered_at=row.delivered_at,
            channel_message_id=row.channel_message_id,
            error=row.error,
            segments=row.segments,
            template=row.template,
            receipt=row.receipt,
            created_at=row.created_at,
        )


class ClaimRequest(BaseModel):
    limit: int = Field(default=50, ge=1, le=100)
    lease_seconds: int = Field(
        default=60, ge=5, le=600, description="report within this time, or it is claimed again"
    )
    channels: list[str] | None = Field(
        default=None, max_length=10, description="only these channels' messages (those it serves)"
    )


class Claimed(BaseModel):
    """A message a gateway is to deliver now."""

    id: int
    channel: str
    user_id: str
    message_id: int = Field(description="its transcript id: buttons refer to it")
    text: str
    buttons: list[dict[str, Any]] | None
    sender: str
    author: str | None
    resume_bot: bool
    attempts: int = Field(description="1 on the first try")
    language: str | None = Field(description="the borrower's, else the chat's; None: unknown")
    borrower_last_at: datetime | None = Field(
        default=None,
        description="WhatsApp only: the borrower's last message in the chat (free-form "
        "messages may go within 24 hours of it)",
    )
    template: dict[str, Any] | None = Field(
        default=None,
        description="WhatsApp only: send this approved template ({name, language, params}) "
        "instead of the text; it may go outside the 24-hour window",
    )

    @classmethod
    def of(cls, row: OutboundMessage, borrower_last_at: datetime | None = None) -> Claimed:
        return cls(
            id=row.id,
            channel=row.conversation.channel,
            user_id=row.conversation.channel_user_id,
            message_id=row.message_id,
            text=row.text,
            buttons=row.buttons,
            sender=row.sender,
            author=row.author,
            resume_bot=row.resume_bot,
            attempts=row.attempts,
            language=language_of(row.conversation),
            borrower_last_at=borrower_last_at,
            template=row.template,
        )


class DeliveryReport(BaseModel):
    status: str = Field(
        json_schema_extra={"enum": list(rules.REPORTS)},
        description="delivered, stored (web chat closed: kept for its history), failed, "
        "or retry (queued again after retry_after_seconds or the backoff)",
    )
    channel_message_id: str | None = Field(default=None, max_length=100)
    error: str | None = Field(default=None, max_length=500)
    retry_after_seconds: float | None = Field(
        default=None, ge=0, le=86_400, description="retry only; the backoff when left out"
    )


class Receipt(BaseModel):
    """What a channel's provider later says of a message the gateway handed it."""

    channel: str = Field(max_length=16)
    channel_message_id: str = Field(min_length=1, max_length=100)
    receipt: str = Field(json_schema_extra={"enum": ["sent", "delivered", "read", "failed"]})
    error: str | None = Field(default=None, max_length=500)
