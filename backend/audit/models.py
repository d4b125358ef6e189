from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # "service:actions", "user:alice"
    action: Mapped[str] = mapped_column(String(16))  # read | create | update
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))  # what: "balance L-1", "promise 12"
    via: Mapped[str] = mapped_column(String(200))  # through what: "GET /api/v1/..."
