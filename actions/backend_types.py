"""What the backend answers, as typed values: `Decimal` amounts, `date` and `datetime` fields.

Plain dataclasses, not pydantic: Rasa pins pydantic 1.10, the backend speaks pydantic 2, and
the two meet only as JSON. Field names are the backend's JSON keys; keys the backend adds later
are ignored, so a new backend field never breaks the action server.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")


# -- conversation and verification ---------------------------------------------------------


@dataclass(frozen=True)
class Handoff:
    id: int
    reason: str
    priority: str  # urgent (distress), high (complaint, dispute) or normal
    status: str  # waiting, taken or closed
    taken_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class ConversationState:
    channel: str
    user_id: str
    verified: bool
    mode: str  # bot or human
    language: str | None
    locked_until: datetime | None
    current_handoff: Handoff | None = None  # filled on GET only


@dataclass(frozen=True)
class Verification:
    status: str  # verified, failed or locked
    attempts_left: int
    locked_until: datetime | None
    offer_human: bool
    language: str | None
    first_name: str | None

    @property
    def verified(self) -> bool:
        return self.status == "verified"


# -- loans ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    loan_ref: str
    currency: str
    as_of: date
    status: str  # active or paid_off
    principal_outstanding: Decimal
    interest_outstanding: Decimal
    fees_outstanding: Decimal
    penalty_outstanding: Decimal
    total_outstanding: Decimal
    accrued_interest: Decimal
    overdue_amount: Decimal
    due_now: Decimal
    credit: Decimal
    payoff_amount: Decimal
    dpd: int
    bucket: str
    next_due_date: date | None
    next_due_amount: Decimal | None
    arrangement: str | None
    waived: Decimal


@dataclass(frozen=True)
class Loan:
    """The loan's own terms (where its fees come from) with its balance."""

    ref: str
    product_code: str
    currency: str
    principal: Decimal
    annual_rate: Decimal
    term_months: int
    schedule_type: str
    penalty_daily_rate: Decimal
    late_fee: Decimal
    grace_days: int
    waterfall: list[str]
    disbursed_on: date
    balance: Balance


@dataclass(frozen=True)
class Installment:
    seq: int
    due_date: date
    status: str  # paid, due, overdue, upcoming or rescheduled
    arrangement_id: int | None
    principal: Decimal
    interest: Decimal
    fees: Decimal
    penalty: Decimal
    paid: Decimal
    outstanding: Decimal


@dataclass(frozen=True)
class Schedule:
    loan_ref: str
    currency: str
    as_of: date
    installments: list[Installment]


@dataclass(frozen=True)
class Allocation:
    installment: int
    component: str
    amount: Decimal


@dataclass(frozen=True)
class Payment:
    reference: str
    provider: str
    amount: Decimal
    currency: str
    received_on: date
    allocations: list[Allocation]
    to_credit: Decimal


@dataclass(frozen=True)
class PaymentLink:
    url: str
    token: str
    loan_ref: str
    amount: Decimal
    currency: str
    expires_at: datetime
    status: str


# -- promises -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promise:
    id: int
    loan_ref: str
    amount: Decimal
    currency: str
    promised_date: date
    pay_by: date  # the promised date plus grace
    status: str  # open, kept, partly_kept or broken
    paid: Decimal
    created_on: date
    created_at: datetime
    evaluated_on: date | None
    resolved_on: date | None
    source: str
    recorded_by: str | None


@dataclass(frozen=True)
class PromisePolicy:
    """What a new promise on the loan may be today, so the assistant can ask well."""

    loan_ref: str
    currency: str
    as_of: date
    can_promise: bool
    reason_code: str | None  # promise_already_open or promise_nothing_owed
    earliest_date: date
    latest_date: date
    max_days_ahead: int
    minimum_amount: Decimal
    maximum_amount: Decimal
    overdue_amount: Decimal
    kept_share: Decimal
    grace_days: int
    open_promise: Promise | None
    needs_person: bool = False  # broken promises in a row: a person talks terms now


# -- repayment plans ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class Offer:
    id: str  # valid today, for the figures it was made from
    kind: str  # installment, extension or settlement
    term_months: int | None
    months: int | None
    discount_share: Decimal | None
    parts: int | None
    settles: Decimal
    fee: Decimal
    discount: Decimal
    total: Decimal
    installments: list[PlanRow]
    needs_approval: bool
    grace_days: int
    why: str  # for staff
    largest_payment: Decimal = Decimal(0)  # the most it asks for on any one date
    sized: bool = False  # a term fitted to what the borrower pays a month
    fits: bool | None = None  # within what the borrower has paid a month (None: nothing to go by)


@dataclass(frozen=True)
class FirstBecause:
    code: str  # why the first offer is first, said by actions/messages.py
    params: dict[str, Any]  # the figures it names
    reason: str  # the same in English, for staff: never shown to a borrower


@dataclass(frozen=True)
class NotOffered:
    kind: str  # installment, extension, settlement or any
    code: str  # why, said in the borrower's language by actions/messages.py
    params: dict[str, Any]  # the figures the reason names
    reason: str  # the same in English, for staff: never shown to a borrower


@dataclass(frozen=True)
class Offers:
    loan_ref: str
    as_of: date
    currency: str
    offers: list[Offer]
    not_offered: list[NotOffered]
    first_because: FirstBecause | None = None  # None: the policy's order


@dataclass(frozen=True)
class Arrangement:
    id: int
    kind: str
    starts_on: date
    status: str  # active, completed, broken or superseded
    ended_on: date | None
    settles: Decimal
    fee: Decimal
    discount: Decimal
    total: Decimal
    paid_towards: Decimal
    installments: list[PlanRow]
    agreed_by: str


@dataclass(frozen=True)
class Approval:
    id: int
    loan_ref: str
    status: str  # pending, approved or rejected
    discount_share: Decimal
    parts: int
    settles: Decimal
    discount: Decimal
    requested_on: date
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    note: str
    arrangement_id: int | None


@dataclass(frozen=True)
class Acceptance:
    status: str  # arranged, or pending_approval (a supervisor decides)
    arrangement: Arrangement | None
    approval: Approval | None


# -- cases, handoffs, transcript ------------------------------------------------------------


@dataclass(frozen=True)
class ContactPreferenceSet:
    recorded: bool  # False: the words name no time or day the backend can read
    described: dict[str, str] | None = None  # the preference in words, zh and en
    withdrawn: bool = False  # "any time is fine": no wish is left


@dataclass(frozen=True)
class Case:
    id: int
    kind: str
    status: str
    loan_ref: str | None
    hold: bool
    created_at: datetime
    handoff: Handoff | None = None  # distress hands the chat to a person at once


# -- JSON -> dataclass ----------------------------------------------------------------------


def parse(cls: type[T], data: Any) -> T:
    """Build `cls` from the backend's JSON; ValueError when the shape is not what we expect."""
    try:
        return _convert(cls, data)  # type: ignore[no-any-return]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(
            f"unexpected {getattr(cls, '__name__', cls)} from the backend: {exc}"
        ) from exc


def _convert(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner, value)
    if origin is list:
        (inner,) = typing.get_args(tp)
        return [_convert(inner, v) for v in _expect(value, list)]
    if origin is dict or tp is Any:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        data = _expect(value, dict)
        kwargs = {
            f.name: _convert(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data or _required(f)
        }
        return tp(**kwargs)
    return _scalar(tp, value)


def _scalar(tp: Any, value: Any) -> Any:
    if tp is Decimal:
        return Decimal(str(value))
    if tp is datetime:
        # Python 3.10's fromisoformat does not read the "Z" pydantic writes for UTC.
        return datetime.fromisoformat(_expect(value, str).replace("Z", "+00:00"))
    if tp is date:
        return date.fromisoformat(_expect(value, str))
    if tp is float:
        return float(value)
    if tp in (str, int, bool):
        return _expect(value, tp)
    raise TypeError(f"no conversion to {tp}")


def _expect(value: Any, tp: type) -> Any:
    if not isinstance(value, tp):
        raise TypeError(f"expected {tp.__name__}, got {type(value).__name__}")
    return value


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
