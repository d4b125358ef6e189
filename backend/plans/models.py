from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base
from backend.ledger.models import Arrangement, Loan
from backend.types import ExactDecimal, UTCDateTime, utcnow


class ApprovalRequest(Base):
    """A settlement the borrower accepted that is beyond the assistant's authority."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), default=None
    )
    discount_share: Mapped[Decimal] = mapped_column(ExactDecimal())
    parts: Mapped[int] = mapped_column(Integer)
    requested_on: Mapped[date] = mapped_column(Date)
    settles_minor: Mapped[int] = mapped_column(BigInteger)  # as offered when requested
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    arrangement_id: Mapped[int | None] = mapped_column(ForeignKey("arrangements.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    loan: Mapped[Loan] = relationship()
    arrangement: Mapped[Arrangement | None] = relationship()
