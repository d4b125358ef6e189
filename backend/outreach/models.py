from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow

REMINDER_STATUSES = ("planned", "sent", "dropped")


class Reminder(Base):
    """One step of the outreach schedule for one loan and occasion: planned, then sent or
    dropped (with the reason). (loan, step, occasion) is unique, so planning twice, or again
    after a crash, never makes a second one; it is sent in the same transaction that queues
    its message, so it is never sent twice."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("loan_id", "step_id", "occasion"),
        CheckConstraint("status IN ('planned', 'sent', 'dropped')", name="status"),
        Index(
            "ix_reminders_due",
            "not_before",
            "id",
            sqlite_where=text("status = 'planned'"),
            postgresql_where=text("status = 'planned'"),
        ),
        Index("ix_reminders_borrower_sent", "borrower_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    step_id: Mapped[str] = mapped_column(String(40))
    variant: Mapped[str] = mapped_column(String(40))  # champion/challenger arm
    template: Mapped[str] = mapped_column(String(60))
    occasion: Mapped[date] = mapped_column(Date)  # the business day the step is for
    due_date: Mapped[date | None] = mapped_column(Date, default=None)  # the date it is about
    status: Mapped[str] = mapped_column(String(8), default="planned")
    # Why it is waiting (deferred) or was dropped; None once sent.
    reason: Mapped[str | None] = mapped_column(String(24), default=None)
    # The first compliance rule that held it back (deferred or dropped), kept once it is sent:
    # what the rules cost in reach, for the dashboard. Not set for no_longer_due or no_chat.
    held_by: Mapped[str | None] = mapped_column(String(24), default=None)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), default=None
    )
    outbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
