"""Payment links and provider events."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.errors import Conflict, Invalid, NotFound
from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.ledger.service import PostingResult
from backend.money import format_major
from backend.payments.models import PaymentLink
from backend.payments.provider import InvalidEvent, PaymentEvent, PaymentProvider


def default_link_amount(due_now: int, next_due: int | None, payoff: int) -> int:
    """What a "pay now" link asks for: what is due, else the next installment, else payoff."""
    return due_now or next_due or payoff


def create_link(
    session: Session,
    *,
    loan: Loan,
    provider: PaymentProvider,
    amount: int | None,
    as_of: date,
    now: datetime,
    ttl: timedelta,
) -> PaymentLink:
    st = ledger.loan_statement(session, loan, as_of)
    if st.paid_off:
        raise Conflict(
            f"loan {loan.ref} is paid off: there is nothing to pay", code="nothing_to_pay"
        )
    if amount is None:
        nxt = st.next_due
        amount = default_link_amount(st.due_now, nxt[1] if nxt else None, st.payoff_amount)
    if amount > st.payoff_amount:
        asked, payoff = (
            format_major(amount, loan.currency),
            format_major(st.payoff_amount, loan.currency),
        )
        raise Invalid(
            f"{asked} is more than the payoff amount {payoff} {loan.currency}",
            code="amount_above_payoff",
            params={"amount": asked, "payoff": payoff, "currency": loan.currency},
        )
    link = PaymentLink(
        token=secrets.token_urlsafe(24),
        loan=loan,
        provider=provider.name,
        amount_minor=amount,
        currency=loan.currency,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(link)
    session.flush()
    return link


def link_by_token(session: Session, token: str) -> PaymentLink:
    link = session.scalar(
        select(PaymentLink)
        .where(PaymentLink.token == token)
        .options(selectinload(PaymentLink.loan).selectinload(Loan.borrower))
    )
    if link is None:
        raise NotFound("no such payment link", code="unknown_link")
    return link


def read_event(provider: PaymentProvider, body: bytes, signature: str) -> PaymentEvent:
    """The provider's signed event, or a 422 saying what is wrong: no database involved, so a
    forged or malformed call costs nothing but the check."""
    try:
        return provider.parse_event(body, signature)
    except InvalidEvent as exc:
        raise Invalid(str(exc), code=exc.code) from exc


def receive_event(
    session: Session,
    *,
    provider: PaymentProvider,
    body: bytes,
    signature: str,
    today: date,
) -> tuple[PaymentLink, PostingResult]:
    """The one path by which a provider's money reaches the ledger (webhook or sandbox)."""
    event = read_event(provider, body, signature)
    return post_event(session, provider=provider, event=event, today=today)


def post_event(
    session: Session, *, provider: PaymentProvider, event: PaymentEvent, today: date
) -> tuple[PaymentLink, PostingResult]:
    """Post a verified event's money once; a replay answers the first posting. Refused: a link
    another provider made (one provider's secret never pays another's links), an amount or
    currency other than the link's, a second reference for a paid link, and a reference that
    already paid another link."""
    link = link_by_token(session, event.link_token)
    if link.provider != provider.name:
        raise Invalid(
            f"this payment link was made for the {link.provider!r} provider",
            code="other_providers_link",
        )
    if (event.amount, event.currency) != (link.amount_minor, link.currency):
        raise Invalid(
            "the event's amount or currency differs from the payment link's",
            code="amount_mismatch",
        )
    if link.payment is not None and link.payment.reference != event.reference:
        raise Conflict(
            "this payment link was already paid under another reference",
            code="link_already_paid",
        )
    # Money the provider took is posted even if the link has expired meanwhile.
    loan = ledger.get_loan(session, link.loan.ref)
    result = ledger.post_payment(
        session,
        loan=loan,
        amount=event.amount,
        reference=event.reference,
        provider=provider.name,
        received_on=today,
        today=today,
    )
    if result.duplicate and _link_paid_by(session, result.payment.id) != link.id:
        # The reference paid something else before (another link, or a payment staff posted):
        # this link is not paid by it. (A twin delivery finds its own link, committed with it.)
        raise Conflict(
            f"reference {event.reference!r} was already used for another payment",
            code="reference_used",
        )
    link.payment = result.payment
    session.flush()
    return link, result


def _link_paid_by(session: Session, payment_id: int) -> int | None:
    return session.scalar(select(PaymentLink.id).where(PaymentLink.payment_id == payment_id))
