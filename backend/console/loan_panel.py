"""The borrower and their loans as a collector sees them beside the chat: who they are, what
each loan owes and why, what was paid, promised and arranged, and what staff noted before.

Every loan figure is the ledger statement's as of the business date, never recomputed here.
Read-only: no writes and no audit here (the page that shows it audits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.borrowers.identity import mask_phone
from backend.borrowers.models import Borrower
from backend.console.amounts import Amount
from backend.console.borrower_history import (
    CaseRow,
    NoteRow,
    cases_of,
    closed_handoffs_of,
    notes_of,
)
from backend.errors import NotFound
from backend.ledger import repository
from backend.ledger import service as ledger
from backend.ledger.models import Arrangement, Loan
from backend.ledger.statement import InstallmentPosition, Statement
from backend.outreach.preference_text import describe
from backend.outreach.preferences import preference_of
from backend.plans.models import ApprovalRequest
from backend.promises import service as promises
from backend.risk.scoring import latest_scores

__all__ = [
    "Amount",
    "ApprovalRow",
    "ArrangementRow",
    "BorrowerPanel",
    "Breakdown",
    "CaseRow",
    "LoanPanel",
    "NoteRow",
    "PaymentRow",
    "PromiseRow",
    "ScheduleRow",
    "borrower_panel",
    "loan_panel",
    "schedule_state",
]

NOT_STARTED = "not_started"  # an arrangement that starts after the panel's business date


@dataclass(frozen=True, slots=True)
class Breakdown:
    principal_outstanding: Amount
    interest_outstanding: Amount  # of installments already due
    fees_outstanding: Amount
    penalty_outstanding: Amount
    accrued_interest: Amount  # current period's so far, not yet due
    credit: Amount  # paid ahead, applied on the next due dates
    total_outstanding: Amount
    overdue_amount: Amount
    due_now: Amount
    payoff_amount: Amount
    waived: Amount  # forgiven by a completed settlement


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    seq: int
    due_date: date
    owed: Amount
    paid: Amount  # paid or waived
    outstanding: Amount
    late: bool
    settled: bool
    arrangement_id: int | None  # set on an arrangement's own installments
    restructured: bool  # moved onto an arrangement
    state: str  # paid | due | overdue | upcoming | rescheduled


@dataclass(frozen=True, slots=True)
class PaymentRow:
    received_on: date
    amount: Amount
    reference: str
    provider: str


@dataclass(frozen=True, slots=True)
class PromiseRow:
    id: int
    amount: Amount
    promised_date: date
    created_on: date
    status: str  # open | kept | partly_kept | broken
    paid: Amount  # counted towards it so far
    source: str  # bot | collector
    recorded_by: str | None


@dataclass(frozen=True, slots=True)
class ArrangementRow:
    id: int
    kind: str  # installment | extension | settlement
    status: str  # active | completed | broken | superseded | not_started
    starts_on: date
    ended_on: date | None
    settles: Amount
    fee: Amount
    discount: Amount
    installments: int
    agreed_by: str


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    id: int
    settles: Amount
    discount: Amount
    parts: int
    requested_on: date
    requested_by: str


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """The loan's risk scores of the latest scored day, and what raised the roll score."""

    as_of: date
    roll_30: float | None  # 0..1
    pay_7: float | None
    reasons: tuple[str, ...]  # "<feature>.high|low" (console i18n: risk.reason.<key>)


@dataclass(frozen=True, slots=True)
class LoanPanel:
    ref: str
    product: str  # the product's name
    currency: str
    principal: Amount
    disbursed_on: date
    paid_off: bool
    dpd: int
    bucket: str
    breakdown: Breakdown
    next_due: tuple[date, Amount] | None
    schedule: tuple[ScheduleRow, ...]
    payments: tuple[PaymentRow, ...]  # newest first
    promises: tuple[PromiseRow, ...]  # newest first
    arrangements: tuple[ArrangementRow, ...]  # newest first
    pending_approval: ApprovalRow | None
    score: ScoreRow | None = None


@dataclass(frozen=True, slots=True)
class BorrowerPanel:
    ref: str
    name: str
    phone_masked: str
    language: str
    timezone: str
    id_last4: str
    date_of_birth: date
    loans: tuple[LoanPanel, ...]  # newest first
    notes: tuple[NoteRow, ...]  # newest first
    cases: tuple[CaseRow, ...]  # newest first
    handoffs_before: int  # closed handoffs
    # When the borrower asked to be contacted (zh and en words) and what they said; None: never
    contact_preference: dict[str, str] | None = None
    contact_preference_said: str | None = None


def borrower_panel(session: Session, *, borrower_id: int, as_of: date) -> BorrowerPanel:
    borrower = session.get(Borrower, borrower_id)
    if borrower is None:
        raise NotFound(f"no borrower {borrower_id}")
    loans = session.scalars(
        select(Loan)
        .where(Loan.borrower_id == borrower_id)
        .order_by(Loan.disbursed_on.desc(), Loan.id.desc())
        .options(
            selectinload(Loan.product),
            selectinload(Loan.installments),
            selectinload(Loan.arrangements).selectinload(Arrangement.installments),
        )
    )
    wish = preference_of(session, borrower_id)
    return BorrowerPanel(
        ref=borrower.ref,
        name=borrower.full_name,
        phone_masked=mask_phone(borrower.phone_e164),
        language=borrower.language,
        timezone=borrower.timezone,
        id_last4=borrower.id_last4,
        date_of_birth=borrower.date_of_birth,
        loans=tuple(loan_panel(session, loan=loan, as_of=as_of) for loan in loans),
        notes=notes_of(session, borrower_id),
        cases=cases_of(session, borrower_id),
        handoffs_before=closed_handoffs_of(session, borrower_id),
        contact_preference=describe(wish[0]) if wish else None,
        contact_preference_said=wish[1] if wish else None,
    )


def loan_panel(session: Session, *, loan: Loan, as_of: date) -> LoanPanel:
    st = ledger.loan_statement(session, loan, as_of)
    cur = loan.currency

    def m(minor: int) -> Amount:
        return Amount(minor, cur)

    next_due = st.next_due
    return LoanPanel(
        ref=loan.ref,
        product=loan.product.name,
        currency=cur,
        principal=m(loan.principal_minor),
        disbursed_on=loan.disbursed_on,
        paid_off=st.paid_off,
        dpd=st.dpd,
        bucket=st.bucket.value,
        breakdown=Breakdown(
            principal_outstanding=m(st.principal_outstanding),
            interest_outstanding=m(st.interest_outstanding),
            fees_outstanding=m(st.fees_outstanding),
            penalty_outstanding=m(st.penalty_outstanding),
            accrued_interest=m(st.accrued_interest),
            credit=m(st.credit),
            total_outstanding=m(st.total_outstanding),
            overdue_amount=m(st.overdue_amount),
            due_now=m(st.due_now),
            payoff_amount=m(st.payoff_amount),
            waived=m(st.waived_total),
        ),
        next_due=(next_due[0], m(next_due[1])) if next_due else None,
        schedule=tuple(_schedule_row(i, st.as_of, cur) for i in st.installments),
        payments=tuple(
            PaymentRow(p.received_on, m(p.amount_minor), p.reference, p.provider)
            for p in reversed(repository.payments_of(session, loan.id))
            if p.received_on <= as_of  # as the statement counts them
        ),
        promises=tuple(
            PromiseRow(
                id=p.id,
                amount=Amount(p.amount_minor, p.currency),
                promised_date=p.promised_date,
                created_on=p.created_on,
                status=p.status,
                paid=Amount(p.paid_minor, p.currency),
                source=p.source,
                recorded_by=p.recorded_by,
            )
            for p in promises.promises_of(session, loan.id)
        ),
        arrangements=_arrangements(loan, st),
        pending_approval=_pending_approval(session, loan),
        score=_score(session, loan.id),
    )


def _score(session: Session, loan_id: int) -> ScoreRow | None:
    found = latest_scores(session, [loan_id]).get(loan_id)
    if found is None:
        return None
    return ScoreRow(found.as_of, found.roll_30, found.pay_7, tuple(r["key"] for r in found.reasons))


def schedule_state(position: InstallmentPosition, as_of: date) -> str:
    """One word for an installment's row, as the schedule API words it."""
    if position.restructured:
        return "rescheduled"
    if position.settled:
        return "paid"
    if position.due_date < as_of:
        return "overdue"
    return "due" if position.due_date == as_of else "upcoming"


def _schedule_row(i: InstallmentPosition, as_of: date, currency: str) -> ScheduleRow:
    return ScheduleRow(
        seq=i.seq,
        due_date=i.due_date,
        owed=Amount(sum(i.owed.values()), currency),
        paid=Amount(sum(i.paid.values()), currency),
        outstanding=Amount(i.total_outstanding, currency),
        late=i.late,
        settled=i.settled,
        arrangement_id=i.arrangement_id,
        restructured=i.restructured,
        state=schedule_state(i, as_of),
    )


def _arrangements(loan: Loan, st: Statement) -> tuple[ArrangementRow, ...]:
    """The loan's arrangements as agreed, with where each stands as of the statement's date."""
    outcomes = {o.id: o for o in st.arrangements}
    cur = loan.currency
    rows = []
    for a in sorted(loan.arrangements, key=lambda a: (a.starts_on, a.id), reverse=True):
        outcome = outcomes.get(a.id)
        rows.append(
            ArrangementRow(
                id=a.id,
                kind=a.kind,
                status=outcome.status.value if outcome else NOT_STARTED,
                starts_on=a.starts_on,
                ended_on=outcome.ended_on if outcome else None,
                settles=Amount(a.settles_minor, cur),
                fee=Amount(a.fee_minor, cur),
                discount=Amount(a.discount_minor, cur),
                installments=len(a.installments),
                agreed_by=a.agreed_by,
            )
        )
    return tuple(rows)


def _pending_approval(session: Session, loan: Loan) -> ApprovalRow | None:
    request = session.scalar(
        select(ApprovalRequest)
        .where(ApprovalRequest.loan_id == loan.id, ApprovalRequest.status == "pending")
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    )
    if request is None:
        return None
    return ApprovalRow(
        id=request.id,
        settles=Amount(request.settles_minor, loan.currency),
        discount=Amount(request.discount_minor, loan.currency),
        parts=request.parts,
        requested_on=request.requested_on,
        requested_by=request.requested_by,
    )
