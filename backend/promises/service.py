"""Promise use cases: what may be promised, making a promise, judging promises on each payment
and daily, and the escalations broken promises raise. Flushes, never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from backend.errors import Conflict, Invalid, NotFound
from backend.ledger import service as ledger
from backend.ledger.events import PaymentListener
from backend.ledger.models import Loan, Payment
from backend.money import format_major
from backend.policy_files import load_policy
from backend.promises import rules
from backend.promises.models import Promise, PromiseEscalation
from backend.promises.rules import PromisePolicy, PromiseRefused, PromiseStatus, PromiseWindow

POLICY_FILE = "promises.yml"
_CHUNK = 500  # loans per payments query in the daily evaluation


def load_promise_policy(config_dir: Path) -> PromisePolicy:
    """The validated `promises.yml`; raises `PolicyFileError` naming the file and the problem."""
    return load_policy(config_dir / POLICY_FILE, PromisePolicy)


# --- making a promise ---------------------------------------------------------------------


def allowed_window(
    session: Session, *, loan: Loan, today: date, policy: PromisePolicy
) -> PromiseWindow:
    st = ledger.loan_statement(session, loan, today)
    return rules.window(
        today=today,
        overdue=st.overdue_amount,
        payoff=st.payoff_amount,
        currency=loan.currency,
        policy=policy,
    )


def open_promise(session: Session, loan_id: int) -> Promise | None:
    return session.scalar(
        select(Promise).where(Promise.loan_id == loan_id, Promise.status == PromiseStatus.OPEN)
    )


def promises_of(session: Session, loan_id: int) -> list[Promise]:
    """The loan's promises, newest first."""
    return list(
        session.scalars(
            select(Promise).where(Promise.loan_id == loan_id).order_by(Promise.id.desc())
        )
    )


def _already_open(promise: Promise) -> Conflict:
    amount = format_major(promise.amount_minor, promise.currency)
    return Conflict(
        f"this loan already has an open promise: {amount} {promise.currency} "
        f"by {promise.promised_date}",
        code="promise_already_open",
        params={
            "amount": amount,
            "currency": promise.currency,
            "promised_date": promise.promised_date.isoformat(),
        },
    )


def make_promise(
    session: Session,
    *,
    loan: Loan,
    amount: int,
    promised_date: date,
    today: date,
    policy: PromisePolicy,
    source: str,
    recorded_by: str | None,
    conversation_id: int | None = None,
) -> Promise:
    """Record a promise within policy; one open promise per loan."""
    # A promise whose pay-by date has passed is decided first, so it does not block a new one.
    evaluate_loan(session, loan_id=loan.id, as_of=today, policy=policy)
    current = open_promise(session, loan.id)
    if current is not None:
        raise _already_open(current)
    try:
        rules.check_new_promise(
            allowed_window(session, loan=loan, today=today, policy=policy),
            amount=amount,
            promised_date=promised_date,
        )
    except PromiseRefused as exc:
        raise Invalid(exc.message, code=exc.code, params=exc.params) from exc
    promise = Promise(
        loan_id=loan.id,
        conversation_id=conversation_id,
        amount_minor=amount,
        currency=loan.currency,
        promised_date=promised_date,
        created_on=today,
        source=source,
        recorded_by=recorded_by,
    )
    try:
        with session.begin_nested():  # a concurrent twin loses on the one-open-per-loan index
            session.add(promise)
    except IntegrityError:
        current = open_promise(session, loan.id)
        if current is None:
            raise
        raise _already_open(current) from None
    return promise


# --- judging promises ---------------------------------------------------------------------


@dataclass(slots=True)
class EvaluationTally:
    as_of: date
    evaluated: int = 0
    kept: int = 0
    partly_kept: int = 0
    broken: int = 0
    still_open: int = 0
    escalations: list[PromiseEscalation] = field(default_factory=list)

    def count(self, status: PromiseStatus) -> None:
        self.evaluated += 1
        if status is PromiseStatus.KEPT:
            self.kept += 1
        elif status is PromiseStatus.PARTLY_KEPT:
            self.partly_kept += 1
        elif status is PromiseStatus.BROKEN:
            self.broken += 1
        else:
            self.still_open += 1


def _receipts(promise: Promise, payments: Iterable[Payment]) -> list[rules.Receipt]:
    """Payments recorded after the promise was made: one already known cannot keep it."""
    return [
        rules.Receipt(p.received_on, p.amount_minor)
        for p in payments
        if p.created_at >= promise.created_at
    ]


def _judge(
    session: Session,
    promise: Promise,
    payments: Sequence[Payment],
    *,
    as_of: date,
    policy: PromisePolicy,
    tally: EvaluationTally,
) -> None:
    if promise.outcome.resolved:  # decided once, never again
        return
    result = rules.evaluate(
        promise.terms(), _receipts(promise, payments), as_of=as_of, policy=policy
    )
    promise.paid_minor = result.paid
    promise.evaluated_on = as_of
    if result.status.resolved:
        promise.status = result.status.value
        promise.resolved_on = as_of
    tally.count(result.status)
    if result.status in (PromiseStatus.BROKEN, PromiseStatus.PARTLY_KEPT):
        escalation = _escalate_if_due(session, promise, as_of=as_of, policy=policy)
        if escalation is not None:
            tally.escalations.append(escalation)


def _escalate_if_due(
    session: Session, promise: Promise, *, as_of: date, policy: PromisePolicy
) -> PromiseEscalation | None:
    """Flag the loan once the promises resolved since its last flag end in a broken run."""
    last = session.scalar(
        select(PromiseEscalation)
        .where(PromiseEscalation.loan_id == promise.loan_id)
        .order_by(PromiseEscalation.id.desc())
        .limit(1)
    )
    if last is not None and last.cleared_at is None:
        return None  # already in a person's hands
    outcomes = [
        PromiseStatus(s)
        for s in session.scalars(
            select(Promise.status)
            .where(
                Promise.loan_id == promise.loan_id, Promise.id > (last.promise_id if last else 0)
            )
            .order_by(Promise.id)
        )
    ]
    if not rules.should_escalate(outcomes, policy):
        return None
    escalation = PromiseEscalation(
        loan_id=promise.loan_id,
        promise_id=promise.id,
        broken_in_a_row=rules.broken_in_a_row(outcomes, policy),
        created_on=as_of,
    )
    try:
        with session.begin_nested():  # a concurrent evaluation already flagged it
            session.add(escalation)
    except IntegrityError:
        return None
    return escalation


def evaluate_loan(
    session: Session, *, loan_id: int, as_of: date, policy: PromisePolicy
) -> EvaluationTally:
    """Judge the loan's open promise, if any, as of `as_of`."""
    tally = EvaluationTally(as_of)
    promise = open_promise(session, loan_id)
    if promise is not None:
        payments = list(session.scalars(select(Payment).where(Payment.loan_id == loan_id)))
        _judge(session, promise, payments, as_of=as_of, policy=policy, tally=tally)
    return tally


def payment_listener(policy_of: Callable[[], PromisePolicy]) -> PaymentListener:
    """The ledger's payment listener: a new payment may keep the loan's open promise at once.

    `policy_of` is read on each payment (the app's current policy)."""

    def judge_promises(session: Session, payment: Payment, today: date) -> None:
        evaluate_loan(session, loan_id=payment.loan_id, as_of=today, policy=policy_of())

    return judge_promises


def evaluate_all(session: Session, *, as_of: date, policy: PromisePolicy) -> EvaluationTally:
    """The daily run: judge every open promise as of `as_of`."""
    tally = EvaluationTally(as_of)
    promises = list(
        session.scalars(
            select(Promise).where(Promise.status == PromiseStatus.OPEN).order_by(Promise.id)
        )
    )
    for start in range(0, len(promises), _CHUNK):
        chunk = promises[start : start + _CHUNK]
        by_loan: dict[int, list[Payment]] = defaultdict(list)
        earliest = min(p.created_on for p in chunk)
        for payment in session.scalars(
            select(Payment).where(
                Payment.loan_id.in_({p.loan_id for p in chunk}),
                Payment.received_on >= earliest,
            )
        ):
            by_loan[payment.loan_id].append(payment)
        for promise in chunk:
            _judge(
                session,
                promise,
                by_loan[promise.loan_id],
                as_of=as_of,
                policy=policy,
                tally=tally,
            )
    session.flush()
    return tally


# --- escalations --------------------------------------------------------------------------


def escalations(
    session: Session, *, loan_id: int | None = None, open_only: bool = False
) -> list[PromiseEscalation]:
    """Newest first."""
    query = select(PromiseEscalation).options(
        selectinload(PromiseEscalation.loan).selectinload(Loan.borrower)
    )
    if loan_id is not None:
        query = query.where(PromiseEscalation.loan_id == loan_id)
    if open_only:
        query = query.where(PromiseEscalation.cleared_at.is_(None))
    return list(session.scalars(query.order_by(PromiseEscalation.id.desc())))


def clear_escalation(
    session: Session, *, escalation_id: int, cleared_by: str, now: datetime
) -> PromiseEscalation:
    escalation = session.get(PromiseEscalation, escalation_id)
    if escalation is None:
        raise NotFound(f"no promise escalation {escalation_id}")
    if escalation.cleared_at is not None:
        raise Conflict(
            f"promise escalation {escalation_id} was already cleared by {escalation.cleared_by}",
            code="escalation_already_cleared",
        )
    escalation.cleared_at = now
    escalation.cleared_by = cleared_by
    session.flush()
    return escalation
