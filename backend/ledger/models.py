from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.borrowers.models import Borrower
from backend.db import Base
from backend.ledger.arrangement import ArrangementKind, ArrangementRow, ArrangementTerms
from backend.ledger.schedule import ScheduledInstallment
from backend.ledger.statement import PaymentRecord
from backend.ledger.terms import LateCharges, LoanTerms, ScheduleType, parse_waterfall
from backend.types import ExactDecimal, UTCDateTime, utcnow


class Product(Base):
    """A loan product: the terms new loans are written on."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    annual_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    term_months: Mapped[int] = mapped_column(Integer)
    schedule_type: Mapped[str] = mapped_column(String(20))
    penalty_daily_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    late_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    waterfall: Mapped[str] = mapped_column(String(64), default="fee,penalty,interest,principal")


class Loan(Base):
    """A loan as contracted: the product's terms are copied in, so changing a product later
    never rewrites an existing borrower's contract."""

    __tablename__ = "loans"
    __table_args__ = (CheckConstraint("principal_minor > 0", name="principal_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)  # the lender's contract number
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    currency: Mapped[str] = mapped_column(String(3))
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    term_months: Mapped[int] = mapped_column(Integer)
    schedule_type: Mapped[str] = mapped_column(String(20))
    penalty_daily_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    late_fee_minor: Mapped[int] = mapped_column(BigInteger)
    grace_days: Mapped[int] = mapped_column(Integer)
    waterfall: Mapped[str] = mapped_column(String(64))
    disbursed_on: Mapped[date] = mapped_column(Date)
    # The jurisdiction whose collection rules the contract is under (two letters: ID, PH),
    # set by the lender; None: read from the borrower's phone number.
    jurisdiction: Mapped[str | None] = mapped_column(String(2), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    borrower: Mapped[Borrower] = relationship(back_populates="loans")
    product: Mapped[Product] = relationship()
    installments: Mapped[list[Installment]] = relationship(
        order_by="Installment.seq", cascade="all, delete-orphan"
    )
    arrangements: Mapped[list[Arrangement]] = relationship(order_by="Arrangement.id")

    def terms(self) -> LoanTerms:
        return LoanTerms(
            principal=self.principal_minor,
            annual_rate=self.annual_rate,
            term_months=self.term_months,
            schedule_type=ScheduleType(self.schedule_type),
            disbursed_on=self.disbursed_on,
            late_charges=LateCharges(
                penalty_daily_rate=self.penalty_daily_rate,
                late_fee=self.late_fee_minor,
                grace_days=self.grace_days,
            ),
            waterfall=parse_waterfall(self.waterfall),
        )

    def schedule(self) -> list[ScheduledInstallment]:
        return [i.scheduled() for i in self.installments]


class Installment(Base):
    """One row of the contractual schedule."""

    __tablename__ = "installments"
    __table_args__ = (UniqueConstraint("loan_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)

    def scheduled(self) -> ScheduledInstallment:
        return ScheduledInstallment(
            self.seq, self.due_date, self.principal_minor, self.interest_minor
        )


class Payment(Base):
    """Money received for a loan. (provider, reference) is unique: posting is idempotent."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "reference"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_payments_loan_id_received_on", "loan_id", "received_on"),
        # The daily snapshot looks up the day's payments and those entered since its last run.
        Index("ix_payments_received_on", "received_on"),
        Index("ix_payments_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    provider: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)  # business date the money counts from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    loan: Mapped[Loan] = relationship()

    @property
    def key(self) -> str:
        """Identifies the payment in a replayed statement's allocations."""
        return f"{self.provider}:{self.reference}"

    def record(self) -> PaymentRecord:
        return PaymentRecord(self.key, self.amount_minor, self.received_on)


class Arrangement(Base):
    """A repayment arrangement on a loan, with its own installments (see arrangement.py)."""

    __tablename__ = "arrangements"
    __table_args__ = (
        CheckConstraint("kind IN ('installment', 'extension', 'settlement')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column(Date)
    settles_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    grace_days: Mapped[int] = mapped_column(Integer)
    offer_id: Mapped[str] = mapped_column(String(40))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), default=None
    )
    agreed_by: Mapped[str] = mapped_column(String(100))  # "bot", "collector:alice", ...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    installments: Mapped[list[ArrangementInstallment]] = relationship(
        order_by="ArrangementInstallment.seq", cascade="all, delete-orphan"
    )

    def terms(self) -> ArrangementTerms:
        return ArrangementTerms(
            id=self.id,
            kind=ArrangementKind(self.kind),
            starts_on=self.starts_on,
            rows=tuple(ArrangementRow(i.due_date, i.amount_minor) for i in self.installments),
            fee=self.fee_minor,
            grace_days=self.grace_days,
        )


class ArrangementInstallment(Base):
    __tablename__ = "arrangement_installments"
    __table_args__ = (UniqueConstraint("arrangement_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arrangement_id: Mapped[int] = mapped_column(ForeignKey("arrangements.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
