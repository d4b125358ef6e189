"""Two deliveries of one payment at the same moment post it once (PostgreSQL, real commits)."""

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from backend.ledger import service
from backend.ledger.models import Loan, Payment
from tests.backend import factories


@pytest.mark.postgres
def test_the_same_reference_posted_concurrently_posts_once(pg_engine: Engine) -> None:
    ref = f"L-{uuid.uuid4().hex[:8]}"
    with Session(pg_engine, expire_on_commit=False) as setup:
        factories.loan(setup, ref=ref)
        setup.commit()
    barrier = threading.Barrier(2)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            with Session(pg_engine) as session:
                loan = service.get_loan(session, ref)
                barrier.wait()
                result = service.post_payment(
                    session,
                    loan=loan,
                    amount=50_000,
                    reference=f"PSP-{ref}",
                    provider="sandbox",
                    received_on=date(2026, 3, 1),
                    today=date(2026, 4, 1),
                )
                session.commit()
                outcomes.append(result.duplicate)
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert errors == []
        assert sorted(outcomes) == [False, True]
        with Session(pg_engine) as check:
            loan_id = check.scalar(select(Loan.id).where(Loan.ref == ref))
            assert len(check.scalars(select(Payment).where(Payment.loan_id == loan_id)).all()) == 1
    finally:
        with Session(pg_engine) as cleanup:  # this test's own rows in the throwaway schema
            loan = cleanup.scalar(select(Loan).where(Loan.ref == ref))
            if loan is not None:
                cleanup.execute(delete(Payment).where(Payment.loan_id == loan.id))
                borrower, product = loan.borrower, loan.product
                cleanup.delete(loan)
                cleanup.flush()
                cleanup.delete(borrower)
                cleanup.delete(product)
            cleanup.commit()
