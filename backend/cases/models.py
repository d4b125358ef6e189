from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.borrowers.models import Borrower
from backend.cases.rules import CASE_KINDS, CASE_STATUSES, HANDOFF_REASONS, HANDOFF_STATUSES
from backend.conversations.models import Conversation
from backend.db import Base
from backend.ledger.models import Loan
from backend.types import UTCDateTime, utcnow


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Case(Base):
    """Something a borrower raised in a chat that a person must follow up: a dispute, a hardship
    report, a complaint, a distress flag, an opt-out, a contact-update request."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CASE_KINDS), name="kind"),
        CheckConstraint(_one_of("status", CASE_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    # The borrower the chat was bound to when it was filed (None: filed before verification).
    borrower_id: Mapped[int | None] = mapped_column(
        ForeignKey("borrowers.id"), index=True, default=None
    )
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True, default=None)
    details: Mapped[str] = mapped_column(Text, default="")
    hold: Mapped[bool] = mapped_column(Boolean, default=False)  # hardship: pause contact
    owner: Mapped[str | None] = mapped_column(String(100), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")  # staff notes, one line each
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    conversation: Mapped[Conversation] = relationship()
    borrower: Mapped[Borrower | None] = relationship()
    loan: Mapped[Loan | None] = relationship()


class Handoff(Base):
    """A chat handed from the bot to a person: waiting -> taken -> closed. At most one handoff
    per conversation is open (waiting or taken); while it is, the conversation is in human mode."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(_one_of("reason", HANDOFF_REASONS), name="reason"),
        CheckConstraint(_one_of("status", HANDOFF_STATUSES), name="status"),
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    borrower_id: Mapped[int | None] = mapped_column(
        ForeignKey("borrowers.id"), index=True, default=None
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    reason: Mapped[str] = mapped_column(String(24))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="waiting", index=True)
    taken_by: Mapped[str | None] = mapped_column(String(100), default=None)
    close_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    conversation: Mapped[Conversation] = relationship()
    borrower: Mapped[Borrower | None] = relationship()


class Note(Base):
    """A staff note on a borrower, written in a chat: the next person to serve them reads it."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int | None] = mapped_column(
        ForeignKey("borrowers.id"), index=True, default=None
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"), default=None)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
