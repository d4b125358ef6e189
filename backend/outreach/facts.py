"""A loan's position as the outreach rules see it, from its statement and its promises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.early_warning.models import LoanWarning
from backend.ledger.statement import InstallmentPosition, Statement
from backend.outreach.rules import LoanFacts
from backend.promises.models import Promise


@dataclass(frozen=True, slots=True)
class PromiseDates:
    open_promise: tuple[date, int] | None  # promised date and amount of the open promise
    broken_on: date | None  # when the last promise was judged broken


def promise_dates(session: Session, loan_ids: Iterable[int]) -> dict[int, PromiseDates]:
    """Open promises and last broken ones of these loans: two set-based queries."""
    ids = list(loan_ids)
    if not ids:
        return {}
    open_ = {
        loan_id: (day, amount)
        for loan_id, day, amount in session.execute(
            select(Promise.loan_id, Promise.promised_date, Promise.amount_minor).where(
                Promise.loan_id.in_(ids), Promise.status == "open"
            )
        )
    }
    broken = dict(
        session.execute(
            select(Promise.loan_id, func.max(Promise.resolved_on))
            .where(Promise.loan_id.in_(ids), Promise.status == "broken")
            .group_by(Promise.loan_id)
        ).all()
    )
    return {i: PromiseDates(open_.get(i), broken.get(i)) for i in ids}


Warning = tuple[date, tuple[str, ...]]  # the day a loan was flagged, and the signals


def warnings_of(session: Session, loan_ids: Iterable[int]) -> dict[int, Warning]:
    """Each loan's latest early warning: the business day it was raised (the morning after its
    snapshot day) and its signals."""
    ids = list(loan_ids)
    if not ids:
        return {}
    found: dict[int, Warning] = {}
    for loan_id, as_of, signals in session.execute(
        select(LoanWarning.loan_id, LoanWarning.as_of, LoanWarning.signals)
        .where(LoanWarning.loan_id.in_(ids))
        .order_by(LoanWarning.as_of)
    ):
        found[loan_id] = (as_of + timedelta(days=1), tuple(s["code"] for s in signals))
    return found


def loan_facts(
    *,
    loan_id: int,
    borrower_id: int,
    today: date,
    st: Statement,
    promises: PromiseDates,
    warning: Warning | None = None,
) -> LoanFacts:
    """What is owed on which date, as the borrower sees it: an installment not yet due that
    credit (an early payment) already covers is not owed, so nobody is reminded of it."""
    active = st.active_arrangement
    owed = _owed_after_credit(st)
    amounts: dict[date, int] = {}
    for i, amount in owed:
        amounts[i.due_date] = amounts.get(i.due_date, 0) + amount
    return LoanFacts(
        loan_id=loan_id,
        borrower_id=borrower_id,
        today=today,
        paid_off=st.paid_off,
        dpd=st.dpd,
        unpaid_due_dates=tuple(sorted({i.due_date for i, _ in owed if i.arrangement_id is None})),
        amount_due_on=amounts,
        open_promise_date=promises.open_promise[0] if promises.open_promise else None,
        promise_broken_on=promises.broken_on,
        arrangement_due_dates=tuple(
            sorted(
                {
                    i.due_date
                    for i, _ in owed
                    if active is not None and i.arrangement_id == active.id
                }
            )
        ),
        warned_on=warning[0] if warning else None,
        warning_signals=warning[1] if warning else (),
    )


def _owed_after_credit(st: Statement) -> list[tuple[InstallmentPosition, int]]:
    """Unsettled installments with what is still to pay on each once credit covers future ones
    in date order (as the statement's next_due does); fully covered ones left out."""
    credit = st.credit
    owed = []
    for i in sorted(st.installments, key=lambda i: (i.due_date, i.seq)):
        if i.settled or i.restructured:
            continue
        amount = i.total_outstanding
        if i.due_date > st.as_of:
            covered = min(credit, amount)
            amount, credit = amount - covered, credit - covered
        if amount:
            owed.append((i, amount))
    return owed
