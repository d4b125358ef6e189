"""The Portfolio page's figures from snapshot rows written by hand (no ledger replay), checked
against counts done by hand, on SQLite and PostgreSQL.

Six loans, two products: A in CNY (L1, L2 from January 2026, L3 from February, L5 from
March) and B in SGD (L6 from December 2025, L4 from January). Snapshot days: the month ends
of January to April, 10 February (neither a month end nor the latest: left out) and 3 May
(the latest). L2 is repaid by the end of March (total 0: closed)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from backend.analytics import portfolio
from backend.analytics.portfolio import CLOSED, Distribution, VintagePoint
from backend.ledger.models import Loan
from backend.portfolio.models import PortfolioSnapshot, SnapshotRun
from tests.backend import factories

JAN, FEB_10, FEB, MAR, APR, MAY_3 = (
    date(2026, 1, 31),
    date(2026, 2, 10),
    date(2026, 2, 28),
    date(2026, 3, 31),
    date(2026, 4, 30),
    date(2026, 5, 3),
)
DAYS = (JAN, FEB_10, FEB, MAR, APR, MAY_3)

LOANS = {  # ref: (product, disbursed on)
    "L1": ("A", date(2026, 1, 10)),
    "L2": ("A", date(2026, 1, 20)),
    "L3": ("A", date(2026, 2, 5)),
    "L4": ("B", date(2026, 1, 15)),
    "L5": ("A", date(2026, 3, 2)),
    "L6": ("B", date(2025, 12, 20)),
}
# Each loan on each day: (bucket, total_minor); no row before its disbursement.
POSITIONS: dict[str, dict[date, tuple[str, int]]] = {
    "L1": {
        JAN: ("current", 1000),
        FEB_10: ("1-30", 1000),
        FEB: ("1-30", 900),
        MAR: ("31-60", 900),
        APR: ("61-90", 900),
        MAY_3: ("61-90", 900),
    },
    "L2": {
        JAN: ("current", 2000),
        FEB_10: ("current", 1900),
        FEB: ("current", 1800),
        MAR: ("current", 0),
        APR: ("current", 0),
        MAY_3: ("current", 0),
    },
    "L3": {
        FEB_10: ("current", 3000),
        FEB: ("current", 3000),
        MAR: ("1-30", 2700),
        APR: ("current", 2400),
        MAY_3: ("current", 2400),
    },
    "L4": {
        JAN: ("current", 500),
        FEB_10: ("current", 500),
        FEB: ("31-60", 450),
        MAR: ("61-90", 450),
        APR: ("91-180", 450),
        MAY_3: ("91-180", 450),
    },
    "L5": {MAR: ("current", 5000), APR: ("current", 4800), MAY_3: ("1-30", 4800)},
    "L6": {
        JAN: ("current", 700),
        FEB_10: ("current", 700),
        FEB: ("current", 650),
        MAR: ("current", 600),
        APR: ("91-180", 600),
        MAY_3: ("91-180", 600),
    },
}


ZERO = dict.fromkeys(portfolio.BUCKETS, 0)  # every bucket: `ZERO | {"1-30": 2}`


def snapshot(loan: Loan, as_of: date, bucket: str, total: int) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        as_of=as_of,
        loan_id=loan.id,
        principal_minor=total,
        interest_minor=0,
        fees_minor=0,
        penalty_minor=0,
        total_minor=total,
        overdue_minor=0,
        dpd=0,
        bucket=bucket,
        credit_minor=0,
        future_principal_minor=0,
        paid_month_minor=0,
    )


def run(as_of: date, loans: int) -> SnapshotRun:
    return factories.snapshot_run(as_of, loans, holds_state=as_of == MAY_3)


def write_book(db: Session) -> None:
    """The loans and snapshot rows above (the console's tests show them too)."""
    products = {
        "A": factories.product(db, code="A", name="Cash loan"),
        "B": factories.product(db, code="B", name="Personal loan", currency="SGD"),
    }
    loans = {
        ref: factories.loan(db, ref=ref, prod=products[code], disbursed_on=on)
        for ref, (code, on) in LOANS.items()
    }
    for ref, days in POSITIONS.items():
        for day, (bucket, total) in days.items():
            db.add(snapshot(loans[ref], day, bucket, total))
    for day in DAYS:
        db.add(run(day, sum(day in days for days in POSITIONS.values())))
    db.commit()


@pytest.fixture
def book(db: Session) -> Session:
    write_book(db)
    return db


def test_no_snapshot_yet_gives_nothing(db: Session) -> None:
    book = portfolio.build(db)
    assert book.days == () and book.latest is None
    assert book.distribution == () and book.vintages == ()
    assert book.rolls is None and book.roll_ends == ()


def test_buckets_on_each_month_end_and_the_latest_day_closed_loans_apart(book: Session) -> None:
    built = portfolio.build(book)
    assert built.days == DAYS
    assert built.latest == MAY_3
    assert built.month_ends == (JAN, FEB, MAR, APR)
    assert [d.as_of for d in built.distribution] == [JAN, FEB, MAR, APR, MAY_3]  # not 10 Feb
    shown = {d.as_of: d for d in built.distribution}
    assert shown[JAN] == Distribution(
        JAN,
        month_end=True,
        loans=ZERO | {"current": 4},
        outstanding={"CNY": ZERO | {"current": 3000}, "SGD": ZERO | {"current": 1200}},
        closed=0,
    )
    assert shown[FEB].loans == ZERO | {"current": 3, "1-30": 1, "31-60": 1}
    assert shown[FEB].outstanding == {
        "CNY": ZERO | {"current": 4800, "1-30": 900},
        "SGD": ZERO | {"current": 650, "31-60": 450},
    }
    # L2 repaid: out of "current", counted as closed; its 0 adds nothing anywhere.
    assert shown[MAR].loans == ZERO | {"current": 2, "1-30": 1, "31-60": 1, "61-90": 1}
    assert shown[MAR].closed == 1
    assert shown[MAR].open == 5
    assert shown[MAR].outstanding == {
        "CNY": ZERO | {"current": 5000, "1-30": 2700, "31-60": 900},
        "SGD": ZERO | {"current": 600, "61-90": 450},
    }
    assert shown[APR].loans == ZERO | {"current": 2, "61-90": 1, "91-180": 2}
    assert shown[APR].outstanding["SGD"] == ZERO | {"91-180": 1050}  # L4 450 + L6 600
    latest = shown[MAY_3]
    assert latest.month_end is False
    assert latest.loans == ZERO | {"current": 1, "1-30": 1, "61-90": 1, "91-180": 2}
    assert latest.closed == 1
    assert latest.outstanding["CNY"] == ZERO | {"current": 2400, "1-30": 4800, "61-90": 900}


def test_the_latest_pair_of_month_ends_rolls_by_default(book: Session) -> None:
    built = portfolio.build(book)
    assert built.roll_ends == (FEB, MAR, APR)
    rolls = built.rolls
    assert rolls is not None
    assert (rolls.start, rolls.end) == (MAR, APR)
    # Open on 31 March: L1 31-60, L3 1-30, L4 61-90, L5 and L6 current (L2 closed: out).
    assert rolls.counts == {
        ("current", "current"): 1,  # L5
        ("current", "91-180"): 1,  # L6
        ("1-30", "current"): 1,  # L3 cured
        ("31-60", "61-90"): 1,  # L1
        ("61-90", "91-180"): 1,  # L4
    }
    assert rolls.loans("current") == 2
    assert rolls.share("current", "current") == 0.5
    assert rolls.share("current", "91-180") == 0.5
    assert rolls.share("1-30", "current") == 1.0
    assert rolls.share("180+", "current") is None  # no loan there: no share


def test_rolls_to_closed_and_rows_that_sum_to_one(book: Session) -> None:
    rolls = portfolio.build(book, roll_end=MAR).rolls
    assert rolls is not None
    assert (rolls.start, rolls.end) == (FEB, MAR)
    assert rolls.counts == {
        ("current", "current"): 1,  # L6 (L5 was not yet disbursed on 28 Feb: not here)
        ("current", "1-30"): 1,  # L3
        ("current", CLOSED): 1,  # L2 repaid
        ("1-30", "31-60"): 1,  # L1
        ("31-60", "61-90"): 1,  # L4
    }
    for start in portfolio.BUCKETS:
        shares = [rolls.share(start, end) for end in (*portfolio.BUCKETS, CLOSED)]
        if rolls.loans(start):
            assert sum(s for s in shares if s is not None) == pytest.approx(1.0)
    assert rolls.share("current", CLOSED) == pytest.approx(1 / 3)


def test_a_month_end_without_the_one_before_cannot_end_a_roll(book: Session) -> None:
    assert portfolio.build(book, roll_end=JAN).rolls.end == APR  # type: ignore[union-attr]
    assert portfolio.roll_ends([JAN, MAR, APR]) == [APR]  # no February: no January-March roll
    assert portfolio.roll_ends([date(2025, 12, 31), JAN]) == [JAN]  # across the year


def test_vintage_curves_by_product_and_month_on_book(book: Session) -> None:
    built = portfolio.build(book)
    assert [(p.code, p.name) for p in built.vintages] == [
        ("A", "Cash loan"),
        ("B", "Personal loan"),
    ]
    a, b = built.vintages
    assert [v.month for v in a.vintages] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    january = a.vintages[0]
    # L1 and L2: L1 past 30 days from March; L2 repaid stays in the denominator.
    assert january.points == (
        VintagePoint(JAN, 0, 2, 0),
        VintagePoint(FEB, 1, 2, 0),
        VintagePoint(MAR, 2, 2, 1),
        VintagePoint(APR, 3, 2, 1),
    )
    assert january.at(3) is not None and january.at(3).share == 0.5  # type: ignore[union-attr]
    assert january.loans == 2
    assert [(p.month_on_book, p.past_30) for p in a.vintages[1].points] == [(0, 0), (1, 0), (2, 0)]
    assert [(p.month_on_book, p.loans) for p in a.vintages[2].points] == [(0, 1), (1, 1)]
    assert a.months_on_book == 3

    december, b_january = b.vintages
    assert december.month == date(2025, 12, 1)
    # L6 seen from January: month on book counts across the year; 91-180 in April.
    assert [(p.as_of, p.month_on_book, p.past_30) for p in december.points] == [
        (JAN, 1, 0),
        (FEB, 2, 0),
        (MAR, 3, 0),
        (APR, 4, 1),
    ]
    assert december.at(0) is None  # no snapshot at its own month end
    assert [(p.month_on_book, p.past_30) for p in b_january.points] == [
        (0, 0),
        (1, 1),  # L4 31-60 at the end of February
        (2, 1),
        (3, 1),
    ]
    assert b.months_on_book == 4


def test_month_end_arithmetic() -> None:
    assert portfolio.is_month_end(date(2028, 2, 29))
    assert not portfolio.is_month_end(date(2026, 2, 27))
    assert portfolio.previous_month_end(date(2026, 3, 31)) == date(2026, 2, 28)
    assert portfolio.previous_month_end(date(2026, 1, 31)) == date(2025, 12, 31)
