"""A loan's contract terms as plain data: what the pure ledger rules compute from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class ScheduleType(StrEnum):
    ANNUITY = "annuity"  # 等额本息: equal installments
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 先息后本: interest monthly, principal at the end


class Component(StrEnum):
    """What an amount owed is for; the allocation waterfall orders these."""

    FEE = "fee"
    PENALTY = "penalty"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_WATERFALL: tuple[Component, ...] = (
    Component.FEE,
    Component.PENALTY,
    Component.INTEREST,
    Component.PRINCIPAL,
)


def parse_waterfall(text: str) -> tuple[Component, ...]:
    """ "fee,penalty,interest,principal" -> components; each exactly once."""
    parts = tuple(Component(p.strip()) for p in text.split(",") if p.strip())
    if sorted(parts) != sorted(Component):
        raise ValueError(
            f"waterfall must name each of {', '.join(Component)} exactly once, got {text!r}"
        )
    return parts


@dataclass(frozen=True, slots=True)
class LateCharges:
    """Per product: penalty interest per day on overdue principal, a fee per missed installment.

    Nothing is charged when an installment is paid within `grace_days` of its due date; once
    grace has passed unpaid, the late fee is charged and penalty interest counts from the day
    after the due date (the usual 宽限期 rule).
    """

    penalty_daily_rate: Decimal = Decimal(0)
    late_fee: int = 0  # minor units
    grace_days: int = 0

    def __post_init__(self) -> None:
        if self.penalty_daily_rate < 0 or self.late_fee < 0 or self.grace_days < 0:
            raise ValueError("late charges and grace days cannot be negative")


@dataclass(frozen=True, slots=True)
class LoanTerms:
    principal: int  # minor units
    annual_rate: Decimal  # 0.12 for 12% a year; the monthly rate is a twelfth of it
    term_months: int
    schedule_type: ScheduleType
    disbursed_on: date
    late_charges: LateCharges = LateCharges()
    waterfall: tuple[Component, ...] = DEFAULT_WATERFALL

    def __post_init__(self) -> None:
        if self.principal <= 0:
            raise ValueError("principal must be positive")
        if self.term_months <= 0:
            raise ValueError("term must be at least one month")
        if self.annual_rate < 0:
            raise ValueError("rate cannot be negative")
        if sorted(self.waterfall) != sorted(Component):
            raise ValueError("the waterfall must name every component exactly once")
