"""API shapes for promises. Amounts are decimal strings in major units, with the currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from backend.iso_dates import IsoDate
from backend.ledger.models import Loan
from backend.money import AmountText, format_major
from backend.promises import rules
from backend.promises.models import Promise, PromiseEscalation
from backend.promises.rules import PromisePolicy, PromiseWindow
from backend.promises.service import EvaluationTally


class PromiseCreate(BaseModel):
    amount: AmountText = Field(description='In major units, e.g. "500.00"')
    promised_date: IsoDate = Field(description="The day the borrower will pay by (YYYY-MM-DD)")


class CollectorPromiseCreate(PromiseCreate):
    recorded_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The collector who took the promise; the calling service when left out",
    )


class PromisePublic(BaseModel):
    id: int
    loan_ref: str
    amount: str
    currency: str
    promised_date: date
    pay_by: date = Field(description="last day a payment counts: the promised date plus grace")
    status: str = Field(description="open, kept, partly_kept or broken")
    paid: str = Field(description="received towards the promise, as of evaluated_on")
    created_on: date
    created_at: datetime
    evaluated_on: date | None
    resolved_on: date | None = Field(description="business date the outcome was decided")
    source: str = Field(description="bot or collector")
    recorded_by: str | None

    @classmethod
    def of(cls, promise: Promise, loan: Loan, policy: PromisePolicy) -> PromisePublic:
        cur = promise.currency
        return cls(
            id=promise.id,
            loan_ref=loan.ref,
            amount=format_major(promise.amount_minor, cur),
            currency=cur,
            promised_date=promise.promised_date,
            pay_by=rules.pay_by(promise.promised_date, policy),
            status=promise.status,
            paid=format_major(promise.paid_minor, cur),
            created_on=promise.created_on,
            created_at=promise.created_at,
            evaluated_on=promise.evaluated_on,
            resolved_on=promise.resolved_on,
            source=promise.source,
            recorded_by=promise.recorded_by,
        )


class PromisePolicyPublic(BaseModel):
    """What a new promise on this loan may be today, so the assistant can ask well."""

    loan_ref: str
    currency: str
    as_of: date
    can_promise: bool
    reason_code: str | None = Field(
        description="why not: promise_already_open or promise_nothing_owed"
    )
    earliest_date: date
    latest_date: date
    max_days_ahead: int
    minimum_amount: str
    maximum_amount: str = Field(description="what settles the loan today")
    overdue_amount: str
    kept_share: Decimal = Field(description="share of the promised amount that keeps it")
    grace_days: int
    open_promise: PromisePublic | None
    needs_person: bool = Field(
        default=False,
        description="broken promises in a row flagged the loan: a person talks terms now",
    )

    @classmethod
    def of(
        cls,
        loan: Loan,
        allowed: PromiseWindow,
        policy: PromisePolicy,
        *,
        as_of: date,
        open_promise: Promise | None,
        needs_person: bool = False,
    ) -> PromisePolicyPublic:
        def m(minor: int) -> str:
            return format_major(minor, loan.currency)

        reason = None
        if open_promise is not None:
            reason = "promise_already_open"
        elif allowed.nothing_owed:
            reason = "promise_nothing_owed"
        return cls(
            loan_ref=loan.ref,
            currency=loan.currency,
            as_of=as_of,
            can_promise=reason is None,
            reason_code=reason,
            earliest_date=allowed.earliest,
            latest_date=allowed.latest,
            max_days_ahead=policy.max_days_ahead,
            minimum_amount=m(allowed.minimum),
            maximum_amount=m(allowed.maximum),
            overdue_amount=m(allowed.overdue),
            kept_share=policy.kept_share,
            grace_days=policy.grace_days,
            needs_person=needs_person,
            open_promise=None
            if open_promise is None
            else PromisePublic.of(open_promise, loan, policy),
        )


class EscalationPublic(BaseModel):
    id: int
    loan_ref: str
    borrower_ref: str
    reason: str
    broken_in_a_row: int
    promise_id: int = Field(description="the broken promise that raised it")
    created_on: date
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None

    @classmethod
    def of(cls, e: PromiseEscalation) -> EscalationPublic:
        return cls(
            id=e.id,
            loan_ref=e.loan.ref,
            borrower_ref=e.loan.borrower.ref,
            reason=f"{e.broken_in_a_row} promises to pay broken in a row",
            broken_in_a_row=e.broken_in_a_row,
            promise_id=e.promise_id,
            created_on=e.created_on,
            created_at=e.created_at,
            cleared_at=e.cleared_at,
            cleared_by=e.cleared_by,
        )


class EscalationClear(BaseModel):
    cleared_by: str = Field(min_length=1, max_length=100, description="who handled it")


class EvaluationRunPublic(BaseModel):
    as_of: date
    evaluated: int
    kept: int
    partly_kept: int
    broken: int
    still_open: int
    escalated_loans: list[str] = Field(description="loans flagged for a person by this run")

    @classmethod
    def of(cls, tally: EvaluationTally) -> EvaluationRunPublic:
        return cls(
            as_of=tally.as_of,
            evaluated=tally.evaluated,
            kept=tally.kept,
            partly_kept=tally.partly_kept,
            broken=tally.broken,
            still_open=tally.still_open,
            escalated_loans=[e.loan.ref for e in tally.escalations],
        )
