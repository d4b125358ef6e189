from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class MessageLabel(Base):
    """What a borrower message really meant, as operations labelled it; the masked text went
    into the NLU training data under that intent."""

    __tablename__ = "message_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    intent: Mapped[str] = mapped_column(String(100))  # an intent, or out_of_scope
    example: Mapped[str] = mapped_column(Text)  # the text as written to the training data
    labelled_by: Mapped[str] = mapped_column(String(100))
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
