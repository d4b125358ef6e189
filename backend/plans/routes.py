"""Offers, arrangements and approvals: for staff by loan, for the borrower by conversation."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api_errors import error_responses
from backend.audit.service import Actor, audit
from backend.conversations.deps import BoundDep
from backend.conversations.models import Conversation
from backend.deps import ActorDep, AsOf, OnceDep, SessionDep, SettingsDep
from backend.ids import RowId
from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.plans import service
from backend.plans.models import ApprovalRequest
from backend.plans.policy import PlanPolicy
from backend.plans.schemas import (
    Accepted,
    AcceptOffer,
    ApprovalPublic,
    ArrangementPublic,
    Decision,
    OffersPublic,
    StaffAcceptOffer,
)

staff = APIRouter(tags=["repayment plans"], responses=error_responses(404))
borrower = APIRouter(
    prefix="/conversations/{channel}/{user_id}",
    tags=["borrower self-service"],
    responses=error_responses(403, 404),
)


def plan_policy(request: Request) -> PlanPolicy:
    policy: PlanPolicy = request.app.state.plan_policy
    return policy


PolicyDep = Annotated[PlanPolicy, Depends(plan_policy)]


def _offers(session: Session, loan: Loan, as_of: AsOf, policy: PlanPolicy) -> OffersPublic:
    made, refused = service.ordered_offers(session, loan, as_of, policy)
    return OffersPublic.of(loan.ref, as_of, loan.currency, made, refused)


def _arrangements(session: Session, loan: Loan, as_of: AsOf) -> list[ArrangementPublic]:
    outcomes = {o.id: o for o in ledger.loan_statement(session, loan, as_of).arrangements}
    return [ArrangementPublic.of(a, loan.currency, outcomes.get(a.id)) for a in loan.arrangements]


def _accept(
    session: Session,
    loan: Loan,
    offer_id: str,
    today: AsOf,
    policy: PlanPolicy,
    agreed_by: str,
    conversation: Conversation | None,
    actor: Actor,
) -> Accepted:
    result = service.accept(
        session,
        loan=loan,
        offer_id=offer_id,
        today=today,
        policy=policy,
        agreed_by=agreed_by,
        conversation=conversation,
    )
    audit(session, actor, "create", borrower_id=loan.borrower_id, subject=f"arrangement {loan.ref}")
    if result.approval is not None:
        return Accepted(
            status="pending_approval", arrangement=None, approval=ApprovalPublic.of(result.approval)
        )
    assert result.arrangement is not None
    outcomes = {o.id: o for o in ledger.loan_statement(session, loan, today).arrangements}
    public = ArrangementPublic.of(
        result.arrangement, loan.currency, outcomes.get(result.arrangement.id)
    )
    return Accepted(status="arranged", arrangement=public, approval=None)


# -- staff -------------------------------------------------------------------------------------


@staff.get("/loans/{ref}/offers", response_model=OffersPublic)
def loan_offers(
    ref: str, session: SessionDep, as_of: AsOf, policy: PolicyDep, actor: ActorDep
) -> OffersPublic:
    """Every offer the loan gets on that date, with schedules and costs, and why not the others."""
    loan = ledger.get_loan(session, ref)
    audit(session, actor, "read", borrower_id=loan.borrower_id, subject=f"offers {ref}")
    return _offers(session, loan, as_of, policy)


@staff.get("/loans/{ref}/arrangements", response_model=list[ArrangementPublic])
def loan_arrangements(
    ref: str, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> list[ArrangementPublic]:
    loan = ledger.get_loan(session, ref)
    audit(session, actor, "read", borrower_id=loan.borrower_id, subject=f"arrangements {ref}")
    return _arrangements(session, loan, as_of)


@staff.post(
    "/loans/{ref}/arrangements",
    response_model=Accepted,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
def staff_accept(
    ref: str,
    body: StaffAcceptOffer,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> Accepted:
    """A collector records the borrower's acceptance of one of today's offers."""
    loan = ledger.get_loan(session, ref)
    return _accept(
        session, loan, body.offer_id, settings.today(), policy, body.agreed_by, None, actor
    )


@staff.get("/approvals", response_model=list[ApprovalPublic])
def list_approvals(
    session: SessionDep, status_: Annotated[str, Query(alias="status")] = "pending"
) -> list[ApprovalPublic]:
    rows = session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.status == status_)
        .order_by(ApprovalRequest.id)
    )
    return [ApprovalPublic.of(r) for r in rows]


@staff.post(
    "/approvals/{request_id}/{decision}",
    response_model=ApprovalPublic,
    responses=error_responses(409),
)
def decide(
    request_id: RowId,
    decision: Literal["approve", "reject"],
    body: Decision,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> ApprovalPublic:
    """A supervisor approves (the settlement is re-priced as of today) or rejects."""
    request = service.get_approval(session, request_id)
    service.decide(
        session,
        request=request,
        approve=decision == "approve",
        decided_by=body.decided_by,
        note=body.note,
        today=settings.today(),
        policy=policy,
    )
    audit(
        session,
        actor,
        "update",
        borrower_id=request.loan.borrower_id,
        subject=f"approval {request_id}",
    )
    return ApprovalPublic.of(request)


# -- the bound borrower ----------------------------------------------------------------------------


@borrower.get("/loans/{loan_ref}/offers", response_model=OffersPublic)
def my_offers(
    loan_ref: str,
    bound: BoundDep,
    session: SessionDep,
    as_of: AsOf,
    policy: PolicyDep,
    actor: ActorDep,
) -> OffersPublic:
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"offers {loan.ref}")
    return _offers(session, loan, as_of, policy)


@borrower.get("/loans/{loan_ref}/arrangements", response_model=list[ArrangementPublic])
def my_arrangements(
    loan_ref: str, bound: BoundDep, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> list[ArrangementPublic]:
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"arrangements {loan.ref}")
    return _arrangements(session, loan, as_of)


@borrower.post(
    "/loans/{loan_ref}/arrangements",
    response_model=Accepted,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
def my_acceptance(
    loan_ref: str,
    body: AcceptOffer,
    bound: BoundDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    actor: ActorDep,
    once: OnceDep,
) -> Accepted | JSONResponse:
    """The borrower accepts one of today's offers in the chat."""
    if (earlier := once.earlier()) is not None:
        return earlier
    loan = bound.loan(session, loan_ref)
    accepted = _accept(
        session, loan, body.offer_id, settings.today(), policy, "bot", bound.conversation, actor
    )
    return once.kept(accepted, status.HTTP_201_CREATED)


@borrower.get("/approvals", response_model=list[ApprovalPublic])
def my_approvals(bound: BoundDep, session: SessionDep, actor: ActorDep) -> list[ApprovalPublic]:
    """The outcome of settlements this borrower asked for (so the assistant can tell them)."""
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject="approval requests")
    rows = session.scalars(
        select(ApprovalRequest)
        .join(Loan, Loan.id == ApprovalRequest.loan_id)
        .where(Loan.borrower_id == bound.borrower.id)
        .order_by(ApprovalRequest.id)
    )
    return [ApprovalPublic.of(r) for r in rows]
