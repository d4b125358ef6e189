"""Borrower summaries for services. Identity data leaves masked; verification secrets
(ID digits, date of birth) never leave at all."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.borrowers.identity import mask_phone
from backend.borrowers.models import Borrower
from backend.deps import AsOf, SessionDep
from backend.errors import NotFound
from backend.ledger import service as ledger
from backend.ledger.schemas import BalancePublic

router = APIRouter(prefix="/borrowers", tags=["borrowers"])


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


@router.get("/{ref}", response_model=BorrowerPublic)
def get_borrower(ref: str, session: SessionDep, as_of: AsOf) -> BorrowerPublic:
    borrower = session.scalar(
        select(Borrower).where(Borrower.ref == ref).options(selectinload(Borrower.loans))
    )
    if borrower is None:
        raise NotFound(f"no borrower {ref!r}")
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
