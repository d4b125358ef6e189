from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.db import Base
from backend.outbound.rules import SENDERS, STATUSES
from backend.types import UTCDateTime, utcnow

PENDING = text("status = 'pending'")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class OutboundMessage(Base):
    """A message to a borrower waiting for the gateway, or delivered by it: pending until a
    gateway reports it delivered, stored (the web chat was closed: it waits in the history)
    or failed. A claimed message is leased to one gateway until its lease runs out."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        CheckConstraint(_one_of("sender", SENDERS), name="sender"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        # The claim: pending messages that are due, oldest first.
        Index(
            "ix_outbound_messages_due",
            "next_attempt_at",
            "id",
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    # The transcript row logged when the message was queued.
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    sender: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(100), default=None)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    # The gateway resumes the bot (the Rasa tracker) before delivering: a handoff was closed.
    resume_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times claimed
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    channel_message_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    # A WhatsApp template ({"name", "language", "params"}) sent instead of `text`, which then
    # holds its body as the borrower reads it.
    template: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # An SMS's length in segments (what the provider bills), None on other channels.
    segments: Mapped[int | None] = mapped_column(Integer, default=None)
    # What the channel said of it afterwards (service.RECEIPTS: delivered to the handset, read).
    receipt: Mapped[str | None] = mapped_column(String(16), default=None)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship()
    message: Mapped[Message] = relationship()
