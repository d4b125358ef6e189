from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base
from backend.ledger.models import Loan
from backend.promises.rules import PromiseStatus, PromiseTerms
from backend.types import UTCDateTime, utcnow

OPEN = text("status = 'open'")
NOT_CLEARED = text("cleared_at IS NULL")


class Promise(Base):
    """A promise to pay an amount on a loan by a date. At most one is open per loan."""

    __tablename__ = "promises"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("status IN ('open', 'kept', 'partly_kept', 'broken')", name="status"),
        CheckConstraint("source IN ('bot', 'collector')", name="source"),
        Index(
            "uq_promises_one_open_per_loan",
            "loan_id",
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), default=None
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    promised_date: Mapped[date] = mapped_column(Date)
    created_on: Mapped[date] = mapped_column(Date)  # business date the promise was made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=PromiseStatus.OPEN.value)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # counted so far
    evaluated_on: Mapped[date | None] = mapped_column(Date, default=None)
    resolved_on: Mapped[date | None] = mapped_column(Date, default=None)  # kept/broken decided
    source: Mapped[str] = mapped_column(String(12))  # bot | collector
    recorded_by: Mapped[str | None] = mapped_column(String(100), default=None)

    loan: Mapped[Loan] = relationship()

    @property
    def outcome(self) -> PromiseStatus:
        return PromiseStatus(self.status)

    def terms(self) -> PromiseTerms:
        return PromiseTerms(self.amount_minor, self.promised_date, self.created_on)


class PromiseEscalation(Base):
    """A loan flagged for a person after broken promises in a row; cleared when handled."""

    __tablename__ = "promise_escalations"
    __table_args__ = (
        Index(
            "uq_promise_escalations_one_open_per_loan",
            "loan_id",
            unique=True,
            sqlite_where=NOT_CLEARED,
            postgresql_where=NOT_CLEARED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    promise_id: Mapped[int] = mapped_column(ForeignKey("promises.id"))  # the last broken one
    broken_in_a_row: Mapped[int] = mapped_column(Integer)
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cleared_by: Mapped[str | None] = mapped_column(String(100), default=None)

    loan: Mapped[Loan] = relationship()
