from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.borrowers.models import Borrower
from backend.db import Base
from backend.types import UTCDateTime, utcnow


class LinkToken(Base):
    """A one-time token that binds the chat it is sent from (`/start <token>`) to a borrower."""

    __tablename__ = "link_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    used_by_conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), default=None
    )

    borrower: Mapped[Borrower] = relationship()


class WrongPersonReport(Base):
    """Someone in a chat said they are not the borrower. Recorded; nothing is disclosed."""

    __tablename__ = "wrong_person_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    # The borrower the chat was bound to when it was said, if any (for staff follow-up).
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VerificationFailure(Base):
    """One failed phone verification, whatever the chat or channel: counted against the phone
    number (by its keyed hash), the borrower it belongs to, and everyone's budget."""

    __tablename__ = "verification_failures"
    __table_args__ = (
        Index("ix_verification_failures_phone_key_at", "phone_key", "at"),
        Index("ix_verification_failures_borrower_id_at", "borrower_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    phone_key: Mapped[str] = mapped_column(String(64))
    # The borrower the number belongs to, when exactly one does (a shared number is counted for
    # each of its borrowers by phone_key).
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"), default=None)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)


LOCK_SCOPES = ("phone", "borrower")


class VerificationLock(Base):
    """Verification by phone locked for a phone number or a borrower, in every chat, until
    `locked_until` or until staff clear it."""

    __tablename__ = "verification_locks"
    __table_args__ = (
        CheckConstraint("scope IN ('phone', 'borrower')", name="scope"),
        Index("ix_verification_locks_phone_key", "phone_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    phone_key: Mapped[str | None] = mapped_column(String(64), default=None)
    borrower_id: Mapped[int | None] = mapped_column(
        ForeignKey("borrowers.id"), index=True, default=None
    )
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cleared_by: Mapped[str | None] = mapped_column(String(100), default=None)
