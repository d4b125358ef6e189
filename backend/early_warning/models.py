"""The loans each day's early warning flagged, with the signals that fired."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class LoanWarning(Base):
    """A loan flagged on a snapshot day. `signals`: [{"code": "partial_payment", "figures":
    {...}}, ...], the figures each signal's text shows (minor units, days, counts)."""

    __tablename__ = "loan_warnings"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), primary_key=True, index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The signal the list sorts by: the first of config/monitoring.yml's order that fired.
    top: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer)  # how many signals fired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
