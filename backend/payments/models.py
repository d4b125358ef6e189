from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base
from backend.ledger.models import Loan, Payment
from backend.types import UTCDateTime, utcnow


class PaymentLink(Base):
    """A checkout for one amount on one loan, paid at most once."""

    __tablename__ = "payment_links"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), default=None)

    loan: Mapped[Loan] = relationship()
    payment: Mapped[Payment | None] = relationship()

    def status(self, now: datetime) -> str:
        if self.payment_id is not None:
            return "paid"
        return "expired" if now >= self.expires_at else "open"
