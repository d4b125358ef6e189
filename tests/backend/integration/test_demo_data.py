"""The documented demo borrowers are in their documented states; the generator fills buckets."""

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.demo.generator import generate
from backend.demo.seed import DEMO_BORROWERS, seed_demo
from backend.ledger import service
from backend.ledger.models import Loan
from backend.promises.models import Promise

TODAY = date(2026, 11, 29)

EXPECTED = {  # ref: (status, dpd, bucket), as the README's table says
    "DEMO-01": ("active", 0, "current"),
    "DEMO-02": ("active", 0, "current"),
    "DEMO-03": ("active", 12, "1-30"),
    "DEMO-04": ("active", 45, "31-60"),
    "DEMO-05": ("active", 75, "61-90"),
    "DEMO-06": ("active", 120, "91-180"),
    "DEMO-07": ("paid_off", 0, "current"),
    "DEMO-08": ("active", 200, "180+"),
    "DEMO-09": ("active", 0, "current"),  # on a plan
    "DEMO-10": ("active", 20, "1-30"),
}


@pytest.mark.parametrize("today", [TODAY, date(2027, 3, 31), date(2028, 2, 29)])
def test_each_demo_borrower_is_in_its_documented_state(db: Session, today: date) -> None:
    assert seed_demo(db, id_hash_key="k", today=today)
    assert {b.ref for b in DEMO_BORROWERS} == set(EXPECTED)
    for ref, (status, dpd, bucket) in EXPECTED.items():
        loan = service.get_loan(db, f"L-{ref}")
        st = service.loan_statement(db, loan, today)
        assert ("paid_off" if st.paid_off else "active", st.dpd, st.bucket.value) == (
            status,
            dpd,
            bucket,
        ), ref
    due_soon = service.loan_statement(db, service.get_loan(db, "L-DEMO-02"), today).next_due
    assert due_soon is not None and (due_soon[0] - today).days == 2
    on_plan = service.loan_statement(db, service.get_loan(db, "L-DEMO-09"), today)
    assert on_plan.active_arrangement is not None
    assert on_plan.active_arrangement.kind.value == "installment"
    broken = db.scalars(
        select(Promise).where(Promise.loan_id == service.get_loan(db, "L-DEMO-10").id)
    )
    assert [p.status for p in broken] == ["broken"]


def test_seeding_leaves_a_database_with_borrowers_alone(db: Session) -> None:
    assert seed_demo(db, id_hash_key="k", today=TODAY)
    db.commit()
    assert not seed_demo(db, id_hash_key="k", today=TODAY)
    assert db.scalar(select(func.count()).select_from(Borrower)) == len(DEMO_BORROWERS)


def test_generator_spreads_a_portfolio_over_the_buckets(db: Session) -> None:
    result = generate(
        db, borrowers=300, as_of=TODAY, id_hash_key="k", seed=7, chunk_size=120, progress=False
    )
    assert (result.borrowers, result.loans) == (300, 300)
    db.expire_all()
    loans = list(db.scalars(select(Loan)))
    assert len(loans) == 300
    buckets = {
        service.loan_statement(db, service.get_loan(db, loan.ref), TODAY).bucket.value
        for loan in loans
    }
    assert {"current", "1-30", "31-60", "91-180"} <= buckets


def test_readme_table_matches_the_seeded_borrowers() -> None:
    from pathlib import Path

    from backend.borrowers.identity import id_last4

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    rows = [
        [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        for line in readme.splitlines()
        if line.startswith("| DEMO-")
    ]
    documented = {r[0]: (r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}
    seeded = {
        b.ref: (
            b.name,
            b.phone,
            id_last4(b.id_number),
            b.date_of_birth.isoformat(),
            b.language,
            b.timezone,
        )
        for b in DEMO_BORROWERS
    }
    assert documented == seeded
    assert {r[0]: r[8] for r in rows} == {b.ref: b.state for b in DEMO_BORROWERS}
