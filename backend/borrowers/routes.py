"""Borrower summaries for services. Identity data leaves masked; verification secrets
(ID digits, date of birth) never leave at all."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.borrowers.identity import mask_phone
from backend.borrowers.models import Borrower
from backend.deps import ActorDep, AsOf, SessionDep, SettingsDep
from backend.errors import NotFound
from backend.ledger import service as ledger
from backend.ledger.schemas import BalancePublic
from backend.types import utcnow
from backend.verification.service import issue_link_token

router = APIRouter(prefix="/borrowers", tags=["borrowers"], responses=error_responses(404))


class BorrowerLoan(BaseModel):
    ref: str
    balance: BalancePublic


class BorrowerPublic(BaseModel):
    ref: str
    full_name: str
    phone_masked: str
    language: str
    timezone: str
    loans: list[BorrowerLoan]


def _borrower(session: SessionDep, ref: str) -> Borrower:
    borrower = session.scalar(
        select(Borrower).where(Borrower.ref == ref).options(selectinload(Borrower.loans))
    )
    if borrower is None:
        raise NotFound(f"no borrower {ref!r}")
    return borrower


@router.get("/{ref}", response_model=BorrowerPublic)
def get_borrower(ref: str, session: SessionDep, as_of: AsOf, actor: ActorDep) -> BorrowerPublic:
    borrower = _borrower(session, ref)
    audit(session, actor, "read", borrower_id=borrower.id, subject="borrower summary")
    loans = []
    for summary in borrower.loans:
        loan = ledger.get_loan(session, summary.ref)
        loans.append(
            BorrowerLoan(
                ref=loan.ref,
                balance=BalancePublic.of(loan, ledger.loan_statement(session, loan, as_of)),
            )
        )
    return BorrowerPublic(
        ref=borrower.ref,
        full_name=borrower.full_name,
        phone_masked=mask_phone(borrower.phone_e164),
        language=borrower.language,
        timezone=borrower.timezone,
        loans=loans,
    )


class LinkTokenPublic(BaseModel):
    token: str = Field(description="shown once; the borrower sends /start <token> on any channel")
    expires_at: datetime


@router.post("/{ref}/link-tokens", response_model=LinkTokenPublic, status_code=201)
def create_link_token(
    ref: str, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> LinkTokenPublic:
    """A one-time token that links the chat it is sent from to this borrower."""
    borrower = _borrower(session, ref)
    token, row = issue_link_token(
        session, borrower, now=utcnow(), ttl=timedelta(hours=settings.link_token_ttl_hours)
    )
    audit(session, actor, "create", borrower_id=borrower.id, subject="link token")
    return LinkTokenPublic(token=token, expires_at=row.expires_at)
