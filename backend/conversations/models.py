from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.borrowers.models import Borrower
from backend.db import Base
from backend.types import UTCDateTime, utcnow

# Chats the assistant talks in; SMS carries proactive messages out (and STOP in) only.
CHAT_CHANNELS = ("telegram", "webchat", "whatsapp")
CHANNELS = (*CHAT_CHANNELS, "sms")


class Conversation(Base):
    """One chat on one channel. Bound to a borrower only after right-party verification."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("channel", "channel_user_id"),
        CheckConstraint("mode IN ('bot', 'human')", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    borrower_id: Mapped[int | None] = mapped_column(
        ForeignKey("borrowers.id"), index=True, default=None
    )
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # link_token | phone (verified in the chat) | record (an SMS number from the lender's record)
    bound_by: Mapped[str | None] = mapped_column(String(16), default=None)
    language: Mapped[str | None] = mapped_column(String(2), default=None)
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    failed_verifications: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    borrower: Mapped[Borrower | None] = relationship()
