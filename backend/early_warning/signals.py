"""Which early-warning signals fire for a loan on a day (pure): from the facts `facts.py` reads
off the snapshots and the day's events, and the thresholds of config/monitoring.yml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from backend.early_warning.policy import MonitoringPolicy


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """One open loan on snapshot day `as_of`. Windowed facts are over each signal's own `days`
    (facts.py reads them per signal)."""

    loan_id: int
    borrower_id: int
    currency: str
    as_of: date
    dpd: int
    overdue: int  # minor units
    total: int
    arrangement: str | None  # the active arrangement's kind
    first_due: date | None  # the first installment's due date
    paid_recent: int = 0  # received within partial_payment's days
    # (worst DPD, amount received) in each of paying_later's months, oldest first; () unknown
    months: tuple[tuple[int, int], ...] = ()
    broken_promise: tuple[date, int] | None = None  # (promised date, amount), within its days
    charges_rise: int = 0  # fees and penalty, now less charges_jump's days ago
    total_before: int | None = None  # what the loan owed then (None: no snapshot then)
    failed_messages: int = 0
    unanswered_reminders: int = 0
    opted_out_on: date | None = None
    contact_changed_on: date | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    figures: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {"code": self.code, "figures": self.figures}


def signals(facts: LoanFacts, policy: MonitoringPolicy) -> list[Signal]:
    """The signals that fire, in the policy's order (its priority)."""
    fired = []
    for code in policy.order:
        figures = _CHECKS[code](facts, policy.rule(code))
        if figures is not None:
            fired.append(Signal(code, figures))
    return fired


def _first_payment_missed(f: LoanFacts, rule: Any) -> dict[str, Any] | None:
    if f.first_due is None or not 0 < f.dpd <= rule.max_dpd:
        return None
    # DPD counts from the oldest unpaid due date: it is the first one's.
    if (f.as_of - f.first_due).days != f.dpd:
        return None
    return {"due_date": f.first_due.isoformat(), "dpd": f.dpd}


def _promise_broken(f: LoanFacts, _: Any) -> dict[str, Any] | None:
    if f.broken_promise is None:
        return None
    promised, amount = f.broken_promise
    return {"promised_date": promised.isoformat(), "amount_minor": amount, "currency": f.currency}


def _arrangement_at_risk(f: LoanFacts, _: Any) -> dict[str, Any] | None:
    if f.arrangement is None or f.overdue == 0:
        return None
    return {"kind": f.arrangement, "overdue_minor": f.overdue, "currency": f.currency}


def _partial_payment(f: LoanFacts, rule: Any) -> dict[str, Any] | None:
    if f.paid_recent == 0 or f.overdue == 0:
        return None
    return {
        "paid_minor": f.paid_recent,
        "overdue_minor": f.overdue,
        "currency": f.currency,
        "days": rule.days,
    }


def _paying_later(f: LoanFacts, rule: Any) -> dict[str, Any] | None:
    if len(f.months) != rule.months:
        return None  # a month without snapshots: no trend to read
    if not all(paid for _, paid in f.months):
        return None  # a month without a payment: not paying later, not paying (other signals)
    worst = [dpd for dpd, _ in f.months]
    rising = all(later > earlier for earlier, later in pairwise(worst))
    if not rising or worst[-1] - worst[0] < rule.min_rise_days:
        return None
    return {"worst_dpd": list(worst)}


def _charges_jump(f: LoanFacts, rule: Any) -> dict[str, Any] | None:
    if f.charges_rise <= 0 or not f.total_before:
        return None
    if Decimal(f.charges_rise) < rule.min_share * f.total_before:
        return None
    return {"charges_minor": f.charges_rise, "days": rule.days, "currency": f.currency}


def _messages_failing(f: LoanFacts, rule: Any) -> dict[str, Any] | None:
    if f.failed_messages < rule.min_failed:
        return None
    return {"failed": f.failed_messages, "days": rule.days}


def _unanswered(f: LoanFacts, rule: Any) -> dict[str, Any] | None:
    if f.unanswered_reminders < rule.min_reminders:
        return None
    return {"contacts": f.unanswered_reminders, "days": rule.days}


def _opted_out(f: LoanFacts, _: Any) -> dict[str, Any] | None:
    return None if f.opted_out_on is None else {"on": f.opted_out_on.isoformat()}


def _contact_changed(f: LoanFacts, _: Any) -> dict[str, Any] | None:
    return None if f.contact_changed_on is None else {"on": f.contact_changed_on.isoformat()}


_CHECKS = {
    "first_payment_missed": _first_payment_missed,
    "promise_broken": _promise_broken,
    "arrangement_at_risk": _arrangement_at_risk,
    "partial_payment": _partial_payment,
    "paying_later": _paying_later,
    "charges_jump": _charges_jump,
    "messages_failing": _messages_failing,
    "unanswered": _unanswered,
    "opted_out": _opted_out,
    "contact_changed": _contact_changed,
}
