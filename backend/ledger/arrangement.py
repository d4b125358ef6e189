"""Repayment arrangements as plain data: what the statement replay needs to know of them.

An arrangement starts at the start of its first day, from the loan's position at the end of
the day before, so payments made on the day it is agreed count towards it.

- `installment` and `extension` re-schedule what is owed: the loan's unpaid amounts move, by
  component, onto the arrangement's own installments (with the plan's fee), and those become
  the loan's installments from then on.
- `settlement` leaves the schedule alone: paying its installments in time waives the rest.

While an arrangement is active no late charges accrue. When one of its installments is still
unpaid after its grace days, it is broken on that day: late charges resume from then on (they
are not charged back for the time it was kept), and a settlement's waiver is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ArrangementKind(StrEnum):
    INSTALLMENT = "installment"  # 协商分期
    EXTENSION = "extension"  # 延期
    SETTLEMENT = "settlement"  # 减免 / settlement for less


class ArrangementStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    SUPERSEDED = "superseded"  # a later arrangement started while this one was still open


@dataclass(frozen=True, slots=True)
class ArrangementRow:
    due_date: date
    amount: int  # minor units


@dataclass(frozen=True, slots=True)
class ArrangementTerms:
    id: int
    kind: ArrangementKind
    starts_on: date
    rows: tuple[ArrangementRow, ...]
    fee: int = 0  # the plan's cost, charged when it starts (installment, extension)
    grace_days: int = 0

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("an arrangement needs at least one installment")
        if any(r.amount <= 0 for r in self.rows):
            raise ValueError("arrangement installments must be positive")
        if [r.due_date for r in self.rows] != sorted(r.due_date for r in self.rows):
            raise ValueError("arrangement installments must be in date order")
        if self.rows[0].due_date < self.starts_on:
            raise ValueError("an arrangement cannot fall due before it starts")

    @property
    def total(self) -> int:
        return sum(r.amount for r in self.rows)


@dataclass(frozen=True, slots=True)
class ArrangementOutcome:
    id: int
    kind: ArrangementKind
    starts_on: date
    status: ArrangementStatus
    ended_on: date | None  # completed or broken on
    paid_towards: int  # payments received since it started
