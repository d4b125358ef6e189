"""Repayment schedules in whole minor units.

Each period's interest is the monthly rate on the principal still outstanding, rounded half up;
the last installment takes whatever principal remains, so the principal parts always sum to the
principal exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from backend.ledger.terms import LoanTerms, ScheduleType
from backend.money import round_half_up


@dataclass(frozen=True, slots=True)
class ScheduledInstallment:
    seq: int  # 1-based
    due_date: date
    principal: int
    interest: int

    @property
    def amount(self) -> int:
        return self.principal + self.interest


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return annual_rate / 12


def period_interest(outstanding: int, annual_rate: Decimal) -> int:
    """A month's interest in minor units. Multiplies before dividing, so an exact half (x.5)
    stays exact and rounds up instead of becoming x.4999... at Decimal's precision."""
    return round_half_up(outstanding * annual_rate / 12)


def due_dates(disbursed_on: date, term_months: int) -> list[date]:
    """Monthly from the disbursement day; a 31st falls on the month's last day when it must."""
    return [disbursed_on + relativedelta(months=k) for k in range(1, term_months + 1)]


def annuity_payment(principal: int, rate: Decimal, periods: int) -> Decimal:
    """The exact equal installment L*r / (1 - (1+r)^-n), before rounding."""
    if rate == 0:
        return Decimal(principal) / periods
    return Decimal(principal) * rate / (1 - (1 + rate) ** -periods)


def build_schedule(terms: LoanTerms) -> list[ScheduledInstallment]:
    rate = monthly_rate(terms.annual_rate)
    n = terms.term_months
    dates = due_dates(terms.disbursed_on, n)
    exact_level = annuity_payment(terms.principal, rate, n)
    # Without interest the level is floored, so the remainder lands on the last installment.
    level = terms.principal // n if rate == 0 else round_half_up(exact_level)
    outstanding = terms.principal
    rows: list[ScheduledInstallment] = []
    for k, due in enumerate(dates, start=1):
        interest = period_interest(outstanding, terms.annual_rate)
        if k == n:
            principal = outstanding
        elif terms.schedule_type is ScheduleType.ANNUITY:
            # Never more than what is left: a tiny loan at a high rate could round past it.
            principal = min(max(level - interest, 0), outstanding)
        elif terms.schedule_type is ScheduleType.EQUAL_PRINCIPAL:
            principal = min(terms.principal // n, outstanding)
        else:
            principal = 0
        rows.append(ScheduledInstallment(k, due, principal, interest))
        outstanding -= principal
    return rows
