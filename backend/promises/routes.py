"""Promise endpoints. Thin: parse, call the service, shape.

`self_service` answers only for the borrower bound to the conversation in the path (the
assistant); `staff` serves the console and the scheduler by loan reference.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from backend.api_errors import ErrorBody, error_responses
from backend.audit.service import audit
from backend.conversations.deps import BoundDep
from backend.deps import ActorDep, AsOf, SessionDep, SettingsDep
from backend.errors import Invalid
from backend.ids import RowId
from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.money import InvalidAmount, to_minor
from backend.promises import service
from backend.promises.rules import PromisePolicy
from backend.promises.schemas import (
    CollectorPromiseCreate,
    EscalationClear,
    EscalationPublic,
    EvaluationRunPublic,
    PromiseCreate,
    PromisePolicyPublic,
    PromisePublic,
)
from backend.types import utcnow


def promise_policy(request: Request) -> PromisePolicy:
    policy: PromisePolicy = request.app.state.promise_policy
    return policy


PolicyDep = Annotated[PromisePolicy, Depends(promise_policy)]

self_service = APIRouter(
    prefix="/conversations/{channel}/{user_id}/loans/{loan_ref}",
    tags=["borrower self-service"],
    responses=error_responses(403, 404),
)
staff = APIRouter(tags=["promises"], responses=error_responses(404))

_CREATED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "The loan already has an open promise (promise_already_open)",
    },
    422: {
        "model": ErrorBody,
        "description": "Outside policy: promise_date_in_past, promise_beyond_window, "
        "promise_below_minimum, promise_above_balance or promise_nothing_owed; the message "
        "states what would be accepted",
    },
}


def _minor(amount: Decimal, loan: Loan) -> int:
    try:
        return to_minor(amount, loan.currency)
    except InvalidAmount as exc:
        raise Invalid(str(exc), code="invalid_amount") from exc


def _policy_view(
    session: SessionDep, loan: Loan, policy: PromisePolicy, as_of: AsOf
) -> PromisePolicyPublic:
    allowed = service.allowed_window(session, loan=loan, today=as_of, policy=policy)
    current = service.open_promise(session, loan.id)
    flagged = bool(service.escalations(session, loan_id=loan.id, open_only=True))
    return PromisePolicyPublic.of(
        loan, allowed, policy, as_of=as_of, open_promise=current, needs_person=flagged
    )


# --- the bound borrower (the assistant) ---------------------------------------------------


@self_service.get("/promises", response_model=list[PromisePublic])
def my_promises(
    loan_ref: str, bound: BoundDep, session: SessionDep, policy: PolicyDep, actor: ActorDep
) -> list[PromisePublic]:
    """The borrower's promises on this loan, newest first."""
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"promises {loan.ref}")
    return [PromisePublic.of(p, loan, policy) for p in service.promises_of(session, loan.id)]


@self_service.post(
    "/promises",
    response_model=PromisePublic,
    status_code=status.HTTP_201_CREATED,
    responses=_CREATED,
)
def my_new_promise(
    loan_ref: str,
    body: PromiseCreate,
    bound: BoundDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> PromisePublic:
    """The borrower promises to pay an amount by a date (within the promise policy)."""
    loan = bound.loan(session, loan_ref)
    promise = service.make_promise(
        session,
        loan=loan,
        amount=_minor(body.amount, loan),
        promised_date=body.promised_date,
        today=settings.today(),
        policy=policy,
        source="bot",
        recorded_by=actor.name,
        conversation_id=bound.conversation.id,
    )
    audit(
        session,
        actor,
        "create",
        borrower_id=bound.borrower.id,
        subject=f"promise {promise.id} on {loan.ref}",
    )
    return PromisePublic.of(promise, loan, policy)


@self_service.get("/promise-policy", response_model=PromisePolicyPublic)
def my_promise_policy(
    loan_ref: str,
    bound: BoundDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> PromisePolicyPublic:
    """The dates and amounts a promise on this loan may have today."""
    loan = bound.loan(session, loan_ref)
    audit(
        session, actor, "read", borrower_id=bound.borrower.id, subject=f"promise policy {loan.ref}"
    )
    return _policy_view(session, loan, policy, settings.today())


# --- staff and scheduler ------------------------------------------------------------------


@staff.get("/loans/{ref}/promises", response_model=list[PromisePublic])
def loan_promises(
    ref: str, session: SessionDep, policy: PolicyDep, actor: ActorDep
) -> list[PromisePublic]:
    """The loan's promises, newest first."""
    loan = ledger.get_loan(session, ref)
    audit(session, actor, "read", borrower_id=loan.borrower_id, subject=f"promises {loan.ref}")
    return [PromisePublic.of(p, loan, policy) for p in service.promises_of(session, loan.id)]


@staff.post(
    "/loans/{ref}/promises",
    response_model=PromisePublic,
    status_code=status.HTTP_201_CREATED,
    responses=_CREATED,
)
def record_promise(
    ref: str,
    body: CollectorPromiseCreate,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> PromisePublic:
    """A collector records a promise the borrower made to them (same policy as the bot)."""
    loan = ledger.get_loan(session, ref)
    promise = service.make_promise(
        session,
        loan=loan,
        amount=_minor(body.amount, loan),
        promised_date=body.promised_date,
        today=settings.today(),
        policy=policy,
        source="collector",
        recorded_by=body.recorded_by or actor.name,
    )
    audit(
        session,
        actor,
        "create",
        borrower_id=loan.borrower_id,
        subject=f"promise {promise.id} on {loan.ref}",
    )
    return PromisePublic.of(promise, loan, policy)


@staff.get("/loans/{ref}/promise-policy", response_model=PromisePolicyPublic)
def loan_promise_policy(
    ref: str, session: SessionDep, policy: PolicyDep, as_of: AsOf, actor: ActorDep
) -> PromisePolicyPublic:
    """The dates and amounts a promise on this loan may have on the business date."""
    loan = ledger.get_loan(session, ref)
    audit(
        session, actor, "read", borrower_id=loan.borrower_id, subject=f"promise policy {loan.ref}"
    )
    return _policy_view(session, loan, policy, as_of)


@staff.post("/promises/evaluate", response_model=EvaluationRunPublic)
def evaluate_promises(
    session: SessionDep, policy: PolicyDep, as_of: AsOf, actor: ActorDep
) -> EvaluationRunPublic:
    """Judge every open promise as of the business date (the daily run)."""
    tally = service.evaluate_all(session, as_of=as_of, policy=policy)
    audit(session, actor, "update", borrower_id=None, subject=f"promises evaluated as of {as_of}")
    return EvaluationRunPublic.of(tally)


@staff.get("/promise-escalations", response_model=list[EscalationPublic])
def escalation_queue(
    session: SessionDep,
    actor: ActorDep,
    open_only: Annotated[bool, Query(description="only those not cleared yet")] = True,
) -> list[EscalationPublic]:
    """Loans flagged for a person after broken promises in a row, newest first."""
    found = service.escalations(session, open_only=open_only)
    audit(session, actor, "read", borrower_id=None, subject="promise escalations")
    return [EscalationPublic.of(e) for e in found]


@staff.get("/loans/{ref}/promise-escalations", response_model=list[EscalationPublic])
def loan_escalations(ref: str, session: SessionDep, actor: ActorDep) -> list[EscalationPublic]:
    """Every escalation of this loan, cleared or not, newest first."""
    loan = ledger.get_loan(session, ref)
    audit(
        session,
        actor,
        "read",
        borrower_id=loan.borrower_id,
        subject=f"promise escalations {loan.ref}",
    )
    return [EscalationPublic.of(e) for e in service.escalations(session, loan_id=loan.id)]


@staff.post(
    "/promise-escalations/{escalation_id}/clear",
    response_model=EscalationPublic,
    responses=error_responses(409),
)
def clear_escalation(
    escalation_id: RowId, body: EscalationClear, session: SessionDep, actor: ActorDep
) -> EscalationPublic:
    """A person has taken the loan in hand: the flag is cleared (a new run can raise another)."""
    escalation = service.clear_escalation(
        session, escalation_id=escalation_id, cleared_by=body.cleared_by, now=utcnow()
    )
    audit(
        session,
        actor,
        "update",
        borrower_id=escalation.loan.borrower_id,
        subject=f"promise escalation {escalation.id} cleared",
    )
    return EscalationPublic.of(escalation)
