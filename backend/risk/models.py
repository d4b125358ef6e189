"""Trained score versions, and each open loan's scores on a snapshot day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class RiskModel(Base):
    """One trained version of a score (`kind`: roll_30 or pay_7): its numbers, how it was
    trained and tested, its model card, and whether it is the one in use."""

    __tablename__ = "risk_models"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # LinearScore.json()
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    card: Mapped[str] = mapped_column(Text)  # the model card, Markdown
    trained_from: Mapped[date] = mapped_column(Date)
    trained_to: Mapped[date] = mapped_column(Date)
    tested_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoanScore(Base):
    """An open loan's scores on a snapshot day, with the reasons of the roll score."""

    __tablename__ = "loan_scores"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    roll_30: Mapped[float | None] = mapped_column(Float, default=None)
    pay_7: Mapped[float | None] = mapped_column(Float, default=None)  # overdue loans only
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    roll_version: Mapped[int | None] = mapped_column(Integer, default=None)
    pay_version: Mapped[int | None] = mapped_column(Integer, default=None)
