"""Portfolio positions in bulk agree with each loan's own statement, arrangements included."""

from datetime import date

from sqlalchemy.orm import Session

from backend.demo.seed import DEMO_BORROWERS, seed_demo
from backend.ledger import service
from backend.ledger.portfolio import positions
from backend.plans import service as plans
from backend.plans.policy import PlanPolicy

TODAY = date(2026, 11, 29)


def test_bulk_positions_match_single_statements(db: Session) -> None:
    seed_demo(db, id_hash_key="k", today=TODAY)
    loan = service.get_loan(db, "L-DEMO-04")
    made, _ = plans.offers_for(db, loan, TODAY, PlanPolicy())
    plans.accept(
        db,
        loan=loan,
        offer_id=made[0].id,
        today=TODAY,
        policy=PlanPolicy(),
        agreed_by="bot",
        conversation=None,
    )
    db.commit()
    later = date(2026, 12, 20)
    bulk = {p.ref: p for p in positions(db, later, chunk=3)}
    assert len(bulk) == len(DEMO_BORROWERS)
    for ref, p in bulk.items():
        st = service.loan_statement(db, service.get_loan(db, ref), later)
        assert (p.total_outstanding, p.overdue_amount, p.dpd, p.bucket) == (
            st.total_outstanding,
            st.overdue_amount,
            st.dpd,
            st.bucket,
        ), ref
    assert bulk["L-DEMO-04"].dpd != 45 + 21  # the arrangement re-aged it
