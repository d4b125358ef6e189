from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base
from backend.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from backend.ledger.models import Loan


class Borrower(Base):
    __tablename__ = "borrowers"
    __table_args__ = (CheckConstraint("language IN ('zh', 'en')", name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)  # the lender's customer number
    full_name: Mapped[str] = mapped_column(String(200))
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_last4: Mapped[str] = mapped_column(String(4))
    date_of_birth: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2), default="zh")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    loans: Mapped[list[Loan]] = relationship(back_populates="borrower", order_by="Loan.id")
