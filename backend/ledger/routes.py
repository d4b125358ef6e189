"""Loan endpoints: summary, balance, schedule, payments. Thin: parse, call the service, shape."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.deps import ActorDep, AsOf, SessionDep, SettingsDep
from backend.errors import Invalid
from backend.ledger import repository, service
from backend.ledger.schemas import (
    BalancePublic,
    LoanPublic,
    PaymentCreate,
    PaymentPosted,
    PaymentPublic,
    SchedulePublic,
)
from backend.money import InvalidAmount, to_minor

router = APIRouter(prefix="/loans", tags=["loans"], responses=error_responses(404))


@router.get("/{ref}", response_model=LoanPublic)
def get_loan(ref: str, session: SessionDep, as_of: AsOf) -> LoanPublic:
    loan = service.get_loan(session, ref)
    return LoanPublic.of(loan, service.loan_statement(session, loan, as_of))


class JurisdictionSet(BaseModel):
    jurisdiction: str | None = Field(
        description="two letters (ID, PH, GB): the contract's; null: read from the phone number",
        pattern=r"^[A-Za-z]{2}$",
    )


@router.put("/{ref}/jurisdiction", response_model=LoanPublic)
def set_jurisdiction(
    ref: str, body: JurisdictionSet, session: SessionDep, as_of: AsOf, actor: ActorDep
) -> LoanPublic:
    """The lender sets the jurisdiction the loan's contract is under: its compliance profile
    (config/compliance.yml) then applies whatever the borrower's phone number says."""
    loan = service.get_loan(session, ref)
    service.set_jurisdiction(loan, body.jurisdiction)
    audit(
        session,
        actor,
        "update",
        borrower_id=loan.borrower_id,
        subject=f"loan {loan.ref} jurisdiction {loan.jurisdiction or 'none'}",
    )
    return LoanPublic.of(loan, service.loan_statement(session, loan, as_of))


@router.get("/{ref}/balance", response_model=BalancePublic)
def get_balance(ref: str, session: SessionDep, as_of: AsOf) -> BalancePublic:
    loan = service.get_loan(session, ref)
    return BalancePublic.of(loan, service.loan_statement(session, loan, as_of))


@router.get("/{ref}/schedule", response_model=SchedulePublic)
def get_schedule(ref: str, session: SessionDep, as_of: AsOf) -> SchedulePublic:
    loan = service.get_loan(session, ref)
    return SchedulePublic.of(loan, service.loan_statement(session, loan, as_of))


@router.get("/{ref}/payments", response_model=list[PaymentPublic])
def list_payments(ref: str, session: SessionDep, as_of: AsOf) -> list[PaymentPublic]:
    """Payments received up to `as_of`, newest first, each with where its money went."""
    loan = service.get_loan(session, ref)
    st = service.loan_statement(session, loan, as_of)
    payments = [p for p in repository.payments_of(session, loan.id) if p.received_on <= as_of]
    return [PaymentPublic.of(p, list(st.allocations)) for p in reversed(payments)]


@router.post(
    "/{ref}/payments",
    response_model=PaymentPosted,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already posted under this reference: nothing changed"},
        **error_responses(409),
    },
)
def post_payment(
    ref: str, body: PaymentCreate, session: SessionDep, settings: SettingsDep, response: Response
) -> PaymentPosted:
    loan = service.get_loan(session, ref)
    try:
        amount = to_minor(body.amount, loan.currency)
    except InvalidAmount as exc:
        raise Invalid(str(exc), code="invalid_amount") from exc
    today = settings.today()
    result = service.post_payment(
        session,
        loan=loan,
        amount=amount,
        reference=body.reference,
        provider=body.provider,
        received_on=body.received_on or today,
        today=today,
    )
    st = service.loan_statement(session, loan, max(today, result.payment.received_on))
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
        message = f"payment {result.payment.reference} was already posted; nothing changed"
    else:
        message = f"payment {result.payment.reference} posted"
    return PaymentPosted(
        duplicate=result.duplicate,
        message=message,
        payment=PaymentPublic.of(result.payment, list(st.allocations)),
        balance=BalancePublic.of(loan, st),
    )
