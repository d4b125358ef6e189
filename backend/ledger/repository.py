"""Queries and writes for the ledger. Flushes, never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.ledger.models import Arrangement, Loan, Payment


def loan_by_ref(session: Session, ref: str) -> Loan | None:
    return session.scalar(
        select(Loan)
        .where(Loan.ref == ref)
        .options(
            selectinload(Loan.installments),
            selectinload(Loan.borrower),
            selectinload(Loan.arrangements).selectinload(Arrangement.installments),
        )
    )


def payments_of(session: Session, loan_id: int) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.loan_id == loan_id)
            .order_by(Payment.received_on, Payment.id)
        )
    )


def payment_by_reference(session: Session, provider: str, reference: str) -> Payment | None:
    return session.scalar(
        select(Payment)
        .where(Payment.provider == provider, Payment.reference == reference)
        .options(selectinload(Payment.loan))
    )
