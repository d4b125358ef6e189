"""The daily portfolio snapshot: every loan's position at the close of a business day, kept
as history (`PortfolioSnapshot`), with a record of each run (`SnapshotRun`) and, for the
latest day only, the open installments the next day steps forward from (`SnapshotItem`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class PortfolioSnapshot(Base):
    """One loan at the end of one business day. Amounts in the loan's minor units."""

    __tablename__ = "portfolio_snapshots"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    # No foreign key and no index of its own: a day's million rows go in appended to the
    # primary key's end, and a loan's history is read by its dates (as_of, loan_id).
    loan_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_minor: Mapped[int] = mapped_column(BigInteger)  # all principal still owed
    interest_minor: Mapped[int] = mapped_column(BigInteger)  # interest already due, unpaid
    fees_minor: Mapped[int] = mapped_column(BigInteger)
    penalty_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    overdue_minor: Mapped[int] = mapped_column(BigInteger)
    dpd: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(8))
    credit_minor: Mapped[int] = mapped_column(BigInteger)  # paid ahead, not yet applied
    # Principal of installments not yet due: what the next days' installments draw on.
    future_principal_minor: Mapped[int] = mapped_column(BigInteger)
    paid_month_minor: Mapped[int] = mapped_column(BigInteger)  # received this calendar month
    arrangement: Mapped[str | None] = mapped_column(String(16), default=None)  # active kind
    promise_open: Mapped[bool] = mapped_column(Boolean, default=False)
    last_reply_on: Mapped[date | None] = mapped_column(Date, default=None)  # borrower wrote
    last_contact_on: Mapped[date | None] = mapped_column(Date, default=None)  # lender wrote


class SnapshotItem(Base):
    """An installment due and not settled, as it stood on `base_on` (the day its loan was last
    replayed, or the day it fell due): enough to know it on any later day its loan is stepped,
    with no payment in between (see `step.py`)."""

    __tablename__ = "snapshot_items"

    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    charge_on: Mapped[date] = mapped_column(Date)  # late charges if unpaid on this day
    principal_minor: Mapped[int] = mapped_column(BigInteger)  # outstanding, by component
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    late_fee_minor: Mapped[int] = mapped_column(BigInteger)  # charged on charge_on if not late
    penalty_paid_minor: Mapped[int] = mapped_column(BigInteger)
    penalty_base: Mapped[Decimal] = mapped_column(Numeric())  # exact: no scale to round to
    base_on: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Numeric())  # penalty interest a day
    late: Mapped[bool] = mapped_column(Boolean)


class SnapshotRun(Base):
    """A day's snapshot was taken: how, how fast, and whether the check against the replay
    held. `holds_state`: the snapshot items are this day's."""

    __tablename__ = "snapshot_runs"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    method: Mapped[str] = mapped_column(String(8))  # "replay" (every loan) or "step"
    loans: Mapped[int] = mapped_column(Integer)
    replayed: Mapped[int] = mapped_column(Integer)  # loans the step could not carry forward
    checked: Mapped[int] = mapped_column(Integer)  # stepped loans replayed to compare
    mismatches: Mapped[int] = mapped_column(Integer)  # of those, replaced by the replay
    seconds: Mapped[float] = mapped_column(Float)
    holds_state: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
