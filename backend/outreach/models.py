from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
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
    # The compliance profile it was last decided under, the jurisdiction it was chosen for and
    # where that came from (policy.JURISDICTION_SOURCES: the contract, the phone number).
    profile: Mapped[str | None] = mapped_column(String(24), default=None)
    jurisdiction: Mapped[str | None] = mapped_column(String(2), default=None)
    jurisdiction_source: Mapped[str | None] = mapped_column(String(8), default=None)
    # The channel it went (or would go) on and the rule of outreach.yml `channels` that chose it.
    channel: Mapped[str | None] = mapped_column(String(16), default=None)
    channel_rule: Mapped[str | None] = mapped_column(String(16), default=None)


class ReminderDecision(Base):
    """One decision on a reminder (send, defer, drop) with every rule it was checked against
    and its verdict (`rules.checks`, as JSON): the record a regulator reads. Kept, never
    updated."""

    __tablename__ = "reminder_decisions"
    __table_args__ = (
        Index("ix_reminder_decisions_at", "decided_at"),
        Index("ix_reminder_decisions_borrower", "borrower_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(24), default=None)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    profile: Mapped[str | None] = mapped_column(String(24), default=None)
    jurisdiction: Mapped[str | None] = mapped_column(String(2), default=None)
    jurisdiction_source: Mapped[str | None] = mapped_column(String(8), default=None)
    checks: Mapped[str] = mapped_column(Text, default="{}")


class ContactPreference(Base):
    """When a borrower asked to be contacted, from the chat ("周末别发"): a window and days
    that narrow their compliance profile's for proactive messages, never widen it. The latest
    request stands; `said` keeps their words for the collector."""

    __tablename__ = "contact_preferences"

    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), primary_key=True)
    window_start: Mapped[time | None] = mapped_column(Time, default=None)
    window_end: Mapped[time | None] = mapped_column(Time, default=None)
    days: Mapped[str | None] = mapped_column(String(27), default=None)  # "mon,tue,..."
    said: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
