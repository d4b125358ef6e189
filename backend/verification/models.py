from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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
