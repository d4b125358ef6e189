"""Plan use cases: the offers a loan gets today, accepting one, supervisor decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.errors import Conflict, NotFound
from backend.ledger import service as ledger
from backend.ledger.arrangement import ArrangementKind, ArrangementStatus
from backend.ledger.models import Arrangement, ArrangementInstallment, Loan, Payment
from backend.money import exponent, format_major
from backend.outbound import service as outbound
from backend.outbound import texts
from backend.plans.models import ApprovalRequest
from backend.plans.order import Ordered, order
from backend.plans.paying import PayingRecord, monthly_totals, months_due
from backend.plans.policy import PersonalPolicy, PlanPolicy
from backend.plans.rules import LoanFacts, NotOffered, Offer, UnpaidInstallment, offers
from backend.promises.models import Promise
from backend.promises.rules import PromiseStatus
from backend.types import utcnow


def loan_facts(
    session: Session, loan: Loan, today: date, personal: PersonalPolicy | None = None
) -> LoanFacts:
    """Offers start today from the position at the end of yesterday (payments made today
    count towards the arrangement); eligibility by today's days past due. With `personal`:
    what the borrower has shown they can pay, to order and size the offers by."""
    now = ledger.loan_statement(session, loan, today)
    before = ledger.loan_statement(session, loan, today - timedelta(days=1))
    history = now.arrangements
    first_due = min((i.due_date for i in now.installments), default=None)
    record = None
    if personal is not None and personal.enabled and first_due is not None:
        record = paying_record(session, loan, today, personal, first_due=first_due)
    return LoanFacts(
        loan_ref=loan.ref,
        exponent=exponent(loan.currency),
        today=today,
        dpd=now.dpd,
        bucket=now.bucket,
        paid_off=now.paid_off,
        balance=before.total_outstanding + before.accrued_interest,
        unpaid=tuple(
            UnpaidInstallment(i.due_date, i.total_outstanding)
            for i in before.installments
            if not i.settled
        ),
        arrangements=len(history),
        broken=sum(a.status is ArrangementStatus.BROKEN for a in history),
        extensions=sum(a.kind is ArrangementKind.EXTENSION for a in history),
        active_arrangement=now.active_arrangement is not None,
        record=record,
    )


def paying_record(
    session: Session, loan: Loan, today: date, policy: PersonalPolicy, *, first_due: date
) -> PayingRecord:
    """The loan's payments in each of the last complete months since its first installment
    fell due, its promises kept and not, and a hardship report of the borrower's within the
    policy's days."""
    ranges = months_due(first_due, today, policy.months)
    paid: list[tuple[date, int]] = []
    if ranges:
        paid = [
            (r.received_on, r.amount_minor)
            for r in session.execute(
                select(Payment.received_on, Payment.amount_minor).where(
                    Payment.loan_id == loan.id,
                    Payment.received_on >= ranges[0][0],
                    Payment.received_on < ranges[-1][1],
                )
            )
        ]
    promised = dict(
        session.execute(
            select(Promise.status, func.count())
            .where(Promise.loan_id == loan.id, Promise.created_on < today)
            .group_by(Promise.status)
        ).all()
    )
    since = datetime.combine(today - timedelta(days=policy.hardship_days), time(), UTC)
    hardship = session.scalar(
        select(Case.id)
        .where(
            Case.kind == "hardship",
            Case.borrower_id == loan.borrower_id,
            Case.created_at >= since,
        )
        .limit(1)
    )
    return PayingRecord(
        monthly=monthly_totals(paid, ranges),
        kept=promised.get(PromiseStatus.KEPT.value, 0),
        not_kept=promised.get(PromiseStatus.BROKEN.value, 0)
        + promised.get(PromiseStatus.PARTLY_KEPT.value, 0),
        hardship=hardship is not None,
    )


def ordered_offers(
    session: Session, loan: Loan, today: date, policy: PlanPolicy
) -> tuple[Ordered, list[NotOffered]]:
    """Today's offers, ordered by what the borrower has shown they can pay, and why not the
    plan kinds left out."""
    facts = loan_facts(session, loan, today, policy.personal)
    made, refused = offers(facts, policy)
    return order(made, facts.record, policy.personal), refused


def offers_for(
    session: Session, loan: Loan, today: date, policy: PlanPolicy
) -> tuple[list[Offer], list[NotOffered]]:
    ordered, refused = ordered_offers(session, loan, today, policy)
    return ordered.offers, refused


@dataclass(frozen=True, slots=True)
class Accepted:
    arrangement: Arrangement | None
    approval: ApprovalRequest | None


def accept(
    session: Session,
    *,
    loan: Loan,
    offer_id: str,
    today: date,
    policy: PlanPolicy,
    agreed_by: str,
    conversation: Conversation | None,
) -> Accepted:
    """Accept one of today's offers: an arrangement, or a request for a supervisor."""
    available, _ = offers_for(session, loan, today, policy)
    offer = next((o for o in available if o.id == offer_id), None)
    if offer is None:
        raise Conflict(
            "this offer is no longer valid: the loan's figures or the date changed; ask for the "
            "current offers",
            code="offer_no_longer_valid",
        )
    if offer.needs_approval:
        pending = session.scalar(
            select(ApprovalRequest).where(
                ApprovalRequest.loan_id == loan.id, ApprovalRequest.status == "pending"
            )
        )
        if pending is not None:
            raise Conflict(
                "a settlement for this loan is already waiting for a supervisor",
                code="approval_pending",
            )
        assert offer.discount_share is not None and offer.parts is not None
        request = ApprovalRequest(
            loan_id=loan.id,
            conversation_id=conversation.id if conversation else None,
            discount_share=offer.discount_share,
            parts=offer.parts,
            requested_on=today,
            settles_minor=offer.settles,
            discount_minor=offer.discount,
            requested_by=agreed_by,
        )
        session.add(request)
        session.flush()
        return Accepted(None, request)
    return Accepted(_arrange(session, loan, offer, today, agreed_by, conversation), None)


def _arrange(
    session: Session,
    loan: Loan,
    offer: Offer,
    today: date,
    agreed_by: str,
    conversation: Conversation | None,
) -> Arrangement:
    arrangement = Arrangement(
        loan_id=loan.id,
        kind=offer.kind.value,
        starts_on=today,
        settles_minor=offer.settles,
        fee_minor=offer.fee,
        discount_minor=offer.discount,
        grace_days=offer.grace_days,
        offer_id=offer.id,
        conversation_id=conversation.id if conversation else None,
        agreed_by=agreed_by,
        installments=[
            ArrangementInstallment(seq=k, due_date=r.due_date, amount_minor=r.amount)
            for k, r in enumerate(offer.rows, start=1)
        ],
    )
    session.add(arrangement)
    session.flush()
    session.refresh(loan, ["arrangements"])
    return arrangement


def get_approval(session: Session, request_id: int) -> ApprovalRequest:
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound(f"no approval request {request_id}")
    return request


def decide(
    session: Session,
    *,
    request: ApprovalRequest,
    approve: bool,
    decided_by: str,
    note: str,
    today: date,
    policy: PlanPolicy,
) -> ApprovalRequest:
    """A supervisor's decision, told to the borrower in the chat that asked. Approval re-prices
    the same settlement as of today."""
    if request.status != "pending":
        raise Conflict(f"this request was already {request.status}", code="already_decided")
    request.decided_by = decided_by
    request.decided_at = utcnow()
    request.note = note
    if not approve:
        request.status = "rejected"
        session.flush()
        _tell_borrower(session, request)
        return request
    loan = ledger.get_loan(session, request.loan.ref)
    available, _ = offers_for(session, loan, today, policy)
    offer = next(
        (
            o
            for o in available
            if o.kind is ArrangementKind.SETTLEMENT
            and o.discount_share == request.discount_share
            and o.parts == request.parts
        ),
        None,
    )
    if offer is None:
        raise Conflict(
            "this settlement is no longer available for the loan (its figures or band changed)",
            code="offer_no_longer_valid",
        )
    conversation = (
        session.get(Conversation, request.conversation_id) if request.conversation_id else None
    )
    request.arrangement = _arrange(
        session, loan, offer, today, f"supervisor:{decided_by}", conversation
    )
    request.status = "approved"
    session.flush()
    _tell_borrower(session, request)
    return request


def _tell_borrower(session: Session, request: ApprovalRequest) -> None:
    """The decision, to the chat the borrower asked in (none: a collector asked for them).
    A chat no longer bound to the loan's borrower (a wrong-person report since) hears nothing:
    the borrower learns the outcome once verified again."""
    if request.conversation_id is None:
        return
    conversation = session.get(Conversation, request.conversation_id)
    if conversation is None or conversation.borrower_id != request.loan.borrower_id:
        return
    language = outbound.language_for(conversation)
    loan = request.loan
    cur = loan.currency
    arrangement = request.arrangement
    if request.status == "approved" and arrangement is not None:
        first = arrangement.installments[0]
        text = texts.settlement_approved(
            language,
            loan=loan.ref,
            currency=cur,
            total=format_major(sum(i.amount_minor for i in arrangement.installments), cur),
            discount=format_major(arrangement.discount_minor, cur),
            parts=len(arrangement.installments),
            first_amount=format_major(first.amount_minor, cur),
            first_date=first.due_date.isoformat(),
        )
    else:
        text = texts.settlement_rejected(
            language,
            loan=loan.ref,
            currency=cur,
            total=format_major(request.settles_minor - request.discount_minor, cur),
        )
    outbound.enqueue(session, conversation=conversation, text=text, sender="system")
