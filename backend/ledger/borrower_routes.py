"""The bound borrower's own loans, for the assistant: every path starts at the conversation."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.conversations.deps import BoundDep
from backend.deps import ActorDep, AsOf, OnceDep, SessionDep, SettingsDep
from backend.ledger import repository, service
from backend.ledger.schemas import BalancePublic, LoanPublic, PaymentPublic, SchedulePublic
from backend.payments.routes import PaymentLinkCreate, PaymentLinkPublic, link_for

router = APIRouter(
    prefix="/conversations/{channel}/{user_id}/loans",
    tags=["borrower self-service"],
    responses=error_responses(403, 404),
)


@router.get("", response_model=list[BalancePublic])
def my_loans(
    bound: BoundDep, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> list[BalancePublic]:
    """Each of the bound borrower's loans with its balance."""
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject="loans and balances")
    result = []
    for summary in bound.borrower.loans:
        loan = service.get_loan(session, summary.ref)
        result.append(BalancePublic.of(loan, service.loan_statement(session, loan, as_of)))
    return result


@router.get("/{loan_ref}", response_model=LoanPublic)
def my_loan(
    loan_ref: str, bound: BoundDep, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> LoanPublic:
    """The loan's own terms (rate, late charges, grace) with its balance: what fees come from."""
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"loan {loan.ref}")
    return LoanPublic.of(loan, service.loan_statement(session, loan, as_of))


@router.get("/{loan_ref}/balance", response_model=BalancePublic)
def my_balance(
    loan_ref: str, bound: BoundDep, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> BalancePublic:
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"balance {loan.ref}")
    return BalancePublic.of(loan, service.loan_statement(session, loan, as_of))


@router.get("/{loan_ref}/schedule", response_model=SchedulePublic)
def my_schedule(
    loan_ref: str, bound: BoundDep, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> SchedulePublic:
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"schedule {loan.ref}")
    return SchedulePublic.of(loan, service.loan_statement(session, loan, as_of))


@router.get("/{loan_ref}/payments", response_model=list[PaymentPublic])
def my_payments(
    loan_ref: str, bound: BoundDep, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> list[PaymentPublic]:
    loan = bound.loan(session, loan_ref)
    audit(session, actor, "read", borrower_id=bound.borrower.id, subject=f"payments {loan.ref}")
    st = service.loan_statement(session, loan, as_of)
    paid = [p for p in repository.payments_of(session, loan.id) if p.received_on <= as_of]
    return [PaymentPublic.of(p, list(st.allocations)) for p in reversed(paid)]


@router.post(
    "/{loan_ref}/payment-links",
    response_model=PaymentLinkPublic,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
def my_payment_link(
    loan_ref: str,
    body: PaymentLinkCreate,
    bound: BoundDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf,
    actor: ActorDep,
    once: OnceDep,
) -> PaymentLinkPublic | JSONResponse:
    """A checkout link; sent again with its key, the same link rather than a second one."""
    if (earlier := once.earlier()) is not None:
        return earlier
    loan = bound.loan(session, loan_ref)
    link = link_for(loan, body, request, session, settings, as_of)
    audit(
        session, actor, "create", borrower_id=bound.borrower.id, subject=f"payment link {loan.ref}"
    )
    return once.kept(link, status.HTTP_201_CREATED)
