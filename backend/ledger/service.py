"""Ledger use cases: originate a loan, read its position, post a payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.errors import Conflict, Invalid, NotFound
from backend.ledger import events, repository
from backend.ledger.models import Installment, Loan, Payment, Product
from backend.ledger.posting import PostedPayment, PostingOutcome, classify, validate_payment
from backend.ledger.schedule import build_schedule
from backend.ledger.statement import Statement, statement
from backend.ledger.terms import LateCharges, LoanTerms, ScheduleType, parse_waterfall


def product_terms(product: Product, *, principal: int, disbursed_on: date) -> LoanTerms:
    return LoanTerms(
        principal=principal,
        annual_rate=product.annual_rate,
        term_months=product.term_months,
        schedule_type=ScheduleType(product.schedule_type),
        disbursed_on=disbursed_on,
        late_charges=LateCharges(
            penalty_daily_rate=product.penalty_daily_rate,
            late_fee=product.late_fee_minor,
            grace_days=product.grace_days,
        ),
        waterfall=parse_waterfall(product.waterfall),
    )


def originate_loan(
    session: Session,
    *,
    ref: str,
    borrower: Borrower,
    product: Product,
    principal: int,
    disbursed_on: date,
) -> Loan:
    """Write a loan on the product's current terms, with its schedule."""
    terms = product_terms(product, principal=principal, disbursed_on=disbursed_on)
    loan = Loan(
        ref=ref,
        borrower=borrower,
        product=product,
        currency=product.currency,
        principal_minor=principal,
        annual_rate=terms.annual_rate,
        term_months=terms.term_months,
        schedule_type=terms.schedule_type.value,
        penalty_daily_rate=terms.late_charges.penalty_daily_rate,
        late_fee_minor=terms.late_charges.late_fee,
        grace_days=terms.late_charges.grace_days,
        waterfall=product.waterfall,
        disbursed_on=disbursed_on,
        installments=[
            Installment(
                seq=row.seq,
                due_date=row.due_date,
                principal_minor=row.principal,
                interest_minor=row.interest,
            )
            for row in build_schedule(terms)
        ],
    )
    session.add(loan)
    session.flush()
    return loan


def set_jurisdiction(loan: Loan, code: str | None) -> None:
    """Set the jurisdiction the loan's contract is under (a two-letter region), or clear it."""
    if code is not None and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise Invalid(f"a jurisdiction is two letters, like ID or PH, not {code!r}")
    loan.jurisdiction = code.upper() if code else None


def get_loan(session: Session, ref: str) -> Loan:
    loan = repository.loan_by_ref(session, ref)
    if loan is None:
        raise NotFound(f"no loan {ref!r}")
    return loan


def loan_statement(session: Session, loan: Loan, as_of: date) -> Statement:
    payments = [p.record() for p in repository.payments_of(session, loan.id)]
    arrangements = [a.terms() for a in loan.arrangements]
    return statement(loan.terms(), loan.schedule(), payments, as_of, arrangements)


@dataclass(frozen=True, slots=True)
class PostingResult:
    payment: Payment
    duplicate: bool


def post_payment(
    session: Session,
    *,
    loan: Loan,
    amount: int,
    reference: str,
    provider: str,
    received_on: date,
    today: date,
) -> PostingResult:
    """Post a payment once: the same (provider, reference) again returns the first posting."""
    reference = reference.strip()
    if not reference:
        raise Invalid("a payment needs a reference")
    incoming = PostedPayment(loan.ref, reference, amount)
    existing = repository.payment_by_reference(session, provider, reference)
    outcome = classify(_posted(existing), incoming)
    if existing is not None:
        return _answer_repeat(outcome, existing)
    try:
        validate_payment(
            amount=amount, received_on=received_on, disbursed_on=loan.disbursed_on, today=today
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    payment = Payment(
        loan_id=loan.id,
        provider=provider,
        reference=reference,
        amount_minor=amount,
        currency=loan.currency,
        received_on=received_on,
    )
    try:
        with session.begin_nested():  # a concurrent twin loses on the unique key, not the request
            session.add(payment)
    except IntegrityError:
        existing = repository.payment_by_reference(session, provider, reference)
        if existing is None:
            raise
        return _answer_repeat(classify(_posted(existing), incoming), existing)
    events.payment_posted(session, payment, today)
    return PostingResult(payment, duplicate=False)


def _posted(payment: Payment | None) -> PostedPayment | None:
    if payment is None:
        return None
    return PostedPayment(payment.loan.ref, payment.reference, payment.amount_minor)


def _answer_repeat(outcome: PostingOutcome, existing: Payment) -> PostingResult:
    if outcome is PostingOutcome.CONFLICT:
        raise Conflict(
            f"reference {existing.reference!r} was already used for a different payment",
            code="reference_used",
        )
    return PostingResult(existing, duplicate=True)
