"""Pure rules of promises to pay: the policy, what a new promise may be, and how one is judged.

No database or web here. Amounts are integer minor units; dates are business dates.

A promise is judged by the payments received from the day it was made up to its promised date
plus the grace days ("pay by"):
- kept as soon as they reach the promised amount within the tolerance (`kept_share`),
- partly kept when, once the pay-by date has passed, something but not enough was paid,
- broken when nothing was.
Payments after the pay-by date never count, so an outcome once decided never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.money import InvalidAmount, format_major, to_minor


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    PARTLY_KEPT = "partly_kept"
    BROKEN = "broken"

    @property
    def resolved(self) -> bool:
        return self is not PromiseStatus.OPEN


class PromisePolicy(BaseModel):
    """Operations' promise rules (`config/promises.yml`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_days_ahead: int = Field(
        default=14, ge=0, le=366, description="latest promised date, in days after today"
    )
    min_share_of_overdue: Decimal = Field(
        default=Decimal("0.2"), ge=0, le=1, description="minimum as a share of the overdue amount"
    )
    min_amount: dict[str, Decimal] = Field(
        default_factory=dict,
        description="absolute minimum per currency, in major units (CNY: 100.00)",
    )
    kept_share: Decimal = Field(
        default=Decimal("0.95"),
        gt=0,
        le=1,
        description="kept when payments reach this share of the promised amount",
    )
    grace_days: int = Field(default=3, ge=0, le=60, description="days after the promised date")
    broken_in_a_row_to_escalate: int = Field(
        default=2, ge=1, description="broken promises in a row that flag the loan for a person"
    )
    partly_kept_counts_as_broken: bool = Field(
        default=False, description="whether a partly kept promise continues a run of broken ones"
    )

    @field_validator("min_amount")
    @classmethod
    def _amounts_in_their_currency(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise ValueError(f"{currency!r} is not an ISO 4217 currency code like CNY")
            try:
                to_minor(amount, currency)
            except InvalidAmount as exc:
                raise ValueError(f"{currency}: {exc}") from exc
        return value

    def minimum_in(self, currency: str) -> int:
        """The absolute minimum in the currency's minor units (0 when none is set)."""
        amount = self.min_amount.get(currency)
        return 0 if amount is None else to_minor(amount, currency)


# --- making a promise ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromiseWindow:
    """What a new promise on a loan may be today."""

    currency: str
    earliest: date
    latest: date
    minimum: int  # minor units; never above `maximum`
    maximum: int  # what settles the loan today (its payoff amount)
    overdue: int

    @property
    def nothing_owed(self) -> bool:
        return self.maximum <= 0


def share_of(amount: int, share: Decimal) -> int:
    """`share` of an amount, rounded up to a whole minor unit ("at least 20%")."""
    return int((Decimal(amount) * share).to_integral_value(rounding=ROUND_CEILING))


def window(
    *, today: date, overdue: int, payoff: int, currency: str, policy: PromisePolicy
) -> PromiseWindow:
    minimum = max(share_of(overdue, policy.min_share_of_overdue), policy.minimum_in(currency), 1)
    return PromiseWindow(
        currency=currency,
        earliest=today,
        latest=today + timedelta(days=policy.max_days_ahead),
        minimum=min(minimum, payoff),
        maximum=payoff,
        overdue=overdue,
    )


class PromiseRefused(ValueError):
    """A promise outside the window; the message says what would be accepted, and `params`
    carries the same dates and amounts (major units) for a message in another language."""

    def __init__(self, code: str, message: str, params: dict[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params or {}


def check_new_promise(allowed: PromiseWindow, *, amount: int, promised_date: date) -> None:
    """Refuse a promise outside `allowed`, naming the dates or amounts that would do."""
    cur = allowed.currency

    def major(minor: int) -> str:
        return format_major(minor, cur)

    def money(minor: int) -> str:
        return f"{major(minor)} {cur}"

    dates = f"choose a date from {allowed.earliest} to {allowed.latest}"
    window_params: dict[str, str | int] = {
        "promised_date": promised_date.isoformat(),
        "earliest": allowed.earliest.isoformat(),
        "latest": allowed.latest.isoformat(),
    }
    amount_params: dict[str, str | int] = {"amount": major(amount), "currency": cur}
    if allowed.nothing_owed:
        raise PromiseRefused("promise_nothing_owed", "nothing is owed on this loan")
    if promised_date < allowed.earliest:
        raise PromiseRefused(
            "promise_date_in_past",
            f"the promised date {promised_date} is in the past: {dates}",
            window_params,
        )
    if promised_date > allowed.latest:
        days = (allowed.latest - allowed.earliest).days
        raise PromiseRefused(
            "promise_beyond_window",
            f"the promised date {promised_date} is more than {days} days ahead: {dates}",
            {**window_params, "days": days},
        )
    if amount < allowed.minimum:
        raise PromiseRefused(
            "promise_below_minimum",
            f"the promised amount {money(amount)} is below the minimum: "
            f"promise at least {money(allowed.minimum)}",
            {**amount_params, "minimum": major(allowed.minimum)},
        )
    if amount > allowed.maximum:
        raise PromiseRefused(
            "promise_above_balance",
            f"the promised amount {money(amount)} is more than what settles the loan today: "
            f"promise at most {money(allowed.maximum)}",
            {**amount_params, "maximum": major(allowed.maximum)},
        )


# --- judging a promise --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromiseTerms:
    amount: int  # minor units, positive
    promised_date: date
    created_on: date


@dataclass(frozen=True, slots=True)
class Receipt:
    """A payment recorded after the promise was made."""

    received_on: date
    amount: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    status: PromiseStatus
    paid: int  # what counted towards the promise up to the evaluation date


def pay_by(promised_date: date, policy: PromisePolicy) -> date:
    """The last day a payment counts towards the promise."""
    return promised_date + timedelta(days=policy.grace_days)


def kept_threshold(amount: int, policy: PromisePolicy) -> int:
    """What keeps a promise of `amount` (95% of 500.00 is 475.00); at least one minor unit."""
    return max(share_of(amount, policy.kept_share), 1)


def evaluate(
    promise: PromiseTerms, receipts: Iterable[Receipt], *, as_of: date, policy: PromisePolicy
) -> Evaluation:
    """The promise's outcome at the end of business day `as_of`."""
    deadline = pay_by(promise.promised_date, policy)
    last_counted = min(as_of, deadline)
    paid = sum(r.amount for r in receipts if promise.created_on <= r.received_on <= last_counted)
    if paid >= kept_threshold(promise.amount, policy):
        return Evaluation(PromiseStatus.KEPT, paid)
    if as_of <= deadline:
        return Evaluation(PromiseStatus.OPEN, paid)
    return Evaluation(PromiseStatus.PARTLY_KEPT if paid else PromiseStatus.BROKEN, paid)


def broken_in_a_row(outcomes: Sequence[PromiseStatus], policy: PromisePolicy) -> int:
    """How many of the latest resolved promises (oldest first in `outcomes`) were broken."""
    run = 0
    for status in reversed(outcomes):
        if status is PromiseStatus.OPEN:
            continue
        broken = status is PromiseStatus.BROKEN or (
            status is PromiseStatus.PARTLY_KEPT and policy.partly_kept_counts_as_broken
        )
        if not broken:
            break
        run += 1
    return run


def should_escalate(outcomes: Sequence[PromiseStatus], policy: PromisePolicy) -> bool:
    return broken_in_a_row(outcomes, policy) >= policy.broken_in_a_row_to_escalate
