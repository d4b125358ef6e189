"""Repayment plans from a chat a collector has taken: present today's offers to the borrower,
or accept one for them (a settlement beyond the assistant's authority goes to a supervisor).
Functions flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from backend.cases.collector_actions import bound_loan, holder_check, money_text, tell_borrower
from backend.cases.models import Handoff
from backend.ledger.arrangement import ArrangementKind
from backend.ledger.models import Loan
from backend.outbound import service as outbound
from backend.outbound import texts
from backend.outbound.models import OutboundMessage
from backend.plans import service as plans_service
from backend.plans.policy import PlanPolicy
from backend.plans.rules import NotOffered, Offer


@dataclass(frozen=True, slots=True)
class Presented:
    offers: list[Offer]
    not_offered: list[NotOffered]  # why the other kinds are not offered: for the collector
    message: OutboundMessage | None  # None: no offers, nothing was sent


def present_offers(
    session: Session,
    *,
    handoff: Handoff,
    username: str,
    loan_ref: str,
    as_of: date,
    policy: PlanPolicy,
) -> Presented:
    """Today's offers for the loan, listed to the borrower in the order the collector sees them
    (so "the second one" means the same to both). No offers: nothing is sent, the collector
    reads the reasons."""
    holder_check(handoff, username=username)
    loan = bound_loan(session, handoff=handoff, loan_ref=loan_ref)
    ordered, refused = plans_service.ordered_offers(session, loan, as_of, policy)
    made, because = ordered.offers, ordered.first_because
    if not made:
        return Presented([], refused, None)
    language = outbound.language_for(handoff.conversation)
    lines = [_describe(language, n, offer, loan) for n, offer in enumerate(made, start=1)]
    why = None
    if because is not None and len(made) > 1:
        figures = because.figures(lambda minor: money_text(minor, loan))
        why = texts.first_because(language, because.code, cur=loan.currency, **figures)
    text = texts.offers(language, loan=loan.ref, lines=lines, first_because=why)
    return Presented(made, refused, tell_borrower(session, handoff, username, text))


def _describe(language: str, n: int, offer: Offer, loan: Loan) -> str:
    """One offer as a line: its kind, what it costs or waives, its first payment, its total."""
    rows = offer.rows
    first_amount, first_date = money_text(rows[0].amount, loan), rows[0].due_date.isoformat()
    if offer.kind is ArrangementKind.INSTALLMENT:
        return texts.installment_offer(
            language,
            n=n,
            term=offer.term_months or len(rows),
            count=len(rows),
            currency=loan.currency,
            first_amount=first_amount,
            first_date=first_date,
            monthly=money_text(rows[min(1, len(rows) - 1)].amount, loan),  # after a down payment
            fee=money_text(offer.fee, loan),
            total=money_text(offer.total, loan),
        )
    if offer.kind is ArrangementKind.EXTENSION:
        return texts.extension_offer(
            language,
            n=n,
            months=offer.months or 0,
            count=len(rows),
            currency=loan.currency,
            first_amount=first_amount,
            first_date=first_date,
            fee=money_text(offer.fee, loan),
            total=money_text(offer.total, loan),
        )
    return texts.settlement_offer(
        language,
        n=n,
        parts=len(rows),
        currency=loan.currency,
        first_amount=first_amount,
        first_date=first_date,
        discount=money_text(offer.discount, loan),
        total=money_text(offer.total, loan),
        needs_approval=offer.needs_approval,
    )


def accept_offer(
    session: Session,
    *,
    handoff: Handoff,
    username: str,
    loan_ref: str,
    offer_id: str,
    as_of: date,
    policy: PlanPolicy,
) -> plans_service.Accepted:
    """The borrower agreed in the chat: the arrangement starts (the borrower is told its first
    payment), or a settlement beyond the assistant's authority goes to a supervisor, whose
    decision reaches this chat later."""
    holder_check(handoff, username=username)
    loan = bound_loan(session, handoff=handoff, loan_ref=loan_ref)
    conversation = handoff.conversation
    accepted = plans_service.accept(
        session,
        loan=loan,
        offer_id=offer_id,
        today=as_of,
        policy=policy,
        agreed_by=f"collector:{username}",
        conversation=conversation,
    )
    language = outbound.language_for(conversation)
    if accepted.arrangement is not None:
        arrangement = accepted.arrangement
        first = arrangement.installments[0]
        text = texts.plan_agreed(
            language,
            loan=loan.ref,
            kind=arrangement.kind,
            currency=loan.currency,
            total=money_text(sum(i.amount_minor for i in arrangement.installments), loan),
            amount=money_text(first.amount_minor, loan),
            date=first.due_date.isoformat(),
        )
    else:
        assert accepted.approval is not None
        approval = accepted.approval
        text = texts.plan_sent_for_approval(
            language,
            loan=loan.ref,
            kind=ArrangementKind.SETTLEMENT,
            currency=loan.currency,
            total=money_text(approval.settles_minor - approval.discount_minor, loan),
        )
    tell_borrower(session, handoff, username, text)
    return accepted
