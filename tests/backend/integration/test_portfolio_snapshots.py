"""The daily snapshot: stepped forward in SQL day by day, it must equal the ledger's replay of
every loan on every day (PostgreSQL); taken again, a day is left alone; a difference the check
finds is counted and replaced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from backend.demo.generator import generate
from backend.ledger.models import Loan, Payment
from backend.ledger.portfolio import loan_statements
from backend.portfolio import snapshots
from backend.portfolio.figures import COMPARED, figures
from backend.portfolio.models import PortfolioSnapshot, SnapshotItem, SnapshotRun
from backend.promises.models import Promise

START = date(2026, 9, 20)
TZ = "Asia/Shanghai"
EVERY = 1_000_000  # a check sample larger than the portfolio: every stepped loan is compared

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_engine: Engine) -> Iterator[Session]:
    with pg_engine.connect() as conn:
        outer = conn.begin()
        with Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session
        outer.rollback()


def _portfolio(session: Session, borrowers: int, seed: int) -> None:
    """Random borrowers whose payments run to the end of the year: each day of the test has
    payments received on it. Entered long ago, so only their day sends a loan to the replay."""
    generate(
        session,
        borrowers=borrowers,
        as_of=date(2026, 12, 31),
        id_hash_key="k",
        seed=seed,
        progress=False,
    )
    session.execute(update(Payment).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    session.commit()


def _replayed(session: Session, day: date) -> dict[int, dict[str, object]]:
    return {loan.id: figures(st).row() for loan, st in loan_statements(session, day)}


def _rows(session: Session, day: date) -> dict[int, PortfolioSnapshot]:
    return {
        r.loan_id: r
        for r in session.scalars(select(PortfolioSnapshot).where(PortfolioSnapshot.as_of == day))
    }


def test_stepping_day_by_day_equals_the_replay_of_every_loan(pg: Session) -> None:
    _portfolio(pg, 300, seed=7)
    first = snapshots.take(pg, START, timezone=TZ)
    assert (first.method, first.replayed) == ("replay", first.loans)
    stepped_days = 0
    for k in range(1, 75):
        day = START + timedelta(days=k)
        run = snapshots.take(pg, day, timezone=TZ, sample=EVERY)
        assert run.method == "step"
        assert run.mismatches == 0, day
        assert run.checked + run.replayed == run.loans
        stepped_days += run.replayed < run.loans // 2
        if k % 15 == 0:  # and the rows themselves, every loan
            expected = _replayed(pg, day)
            rows = _rows(pg, day)
            assert rows.keys() == expected.keys()
            for loan_id, want in expected.items():
                got = {c: getattr(rows[loan_id], c) for c in COMPARED}
                assert got == {c: want[c] for c in COMPARED}, (day, loan_id)
    assert stepped_days == 74  # most loans were carried forward, not replayed, every day
    buckets = set(pg.scalars(select(PortfolioSnapshot.bucket).distinct()))
    assert {"current", "1-30", "31-60", "61-90"} <= buckets


def test_loans_beyond_those_read_ahead_are_replayed_after_the_step(
    pg: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One loan's ledger rows read before the step (replayed while it runs), the rest after.
    monkeypatch.setattr(snapshots, "AHEAD", 1)
    _portfolio(pg, 300, seed=11)
    snapshots.take(pg, START, timezone=TZ)
    both_ways = 0
    for k in range(1, 21):
        day = START + timedelta(days=k)
        run = snapshots.take(pg, day, timezone=TZ, sample=EVERY)
        assert (run.method, run.mismatches) == ("step", 0), day
        both_ways += run.replayed > 1
        assert run.loans == pg.scalar(
            select(func.count())
            .select_from(PortfolioSnapshot)
            .where(PortfolioSnapshot.as_of == day)
        )
    assert both_ways >= 10
    expected, rows = _replayed(pg, day), _rows(pg, day)
    assert rows.keys() == expected.keys()
    for loan_id, want in expected.items():
        assert {c: getattr(rows[loan_id], c) for c in COMPARED} == {c: want[c] for c in COMPARED}


def test_a_payment_entered_late_and_a_new_loan_are_replayed(pg: Session) -> None:
    _portfolio(pg, 60, seed=3)
    day0 = date(2026, 11, 10)
    snapshots.take(pg, day0, timezone=TZ)
    pg.commit()
    owing = _rows(pg, day0)
    late = next(i for i, r in owing.items() if r.overdue_minor > 0)
    loan = pg.get(Loan, late)
    assert loan is not None
    # Entered today, counting from three days ago: the next step must replay that loan.
    pg.add(
        Payment(
            loan_id=late,
            provider="bank",
            reference="late-entry",
            amount_minor=owing[late].overdue_minor,
            currency=loan.currency,
            received_on=day0 - timedelta(days=3),
        )
    )
    pg.commit()
    day1 = day0 + timedelta(days=1)
    run = snapshots.take(pg, day1, timezone=TZ, sample=EVERY)
    assert run.mismatches == 0
    row = _rows(pg, day1)[late]
    assert row.overdue_minor < owing[late].overdue_minor
    assert row.paid_month_minor >= owing[late].overdue_minor


def test_a_day_is_taken_once(pg: Session) -> None:
    _portfolio(pg, 20, seed=1)
    day = date(2026, 11, 1)
    first = snapshots.take(pg, day, timezone=TZ)
    again = snapshots.take(pg, day, timezone=TZ)
    assert first.taken and not again.taken
    assert pg.scalar(select(func.count()).select_from(PortfolioSnapshot)) == first.loans


def test_the_check_finds_and_replaces_a_wrong_step(pg: Session) -> None:
    _portfolio(pg, 80, seed=5)
    day0 = date(2026, 11, 20)
    snapshots.take(pg, day0, timezone=TZ)
    # Corrupt one open installment's penalty: its loan's next step is wrong.
    item = pg.scalars(
        select(SnapshotItem).where(SnapshotItem.late, SnapshotItem.principal_minor > 0).limit(1)
    ).one()
    item.penalty_base += 100_000
    pg.flush()
    run = snapshots.take(pg, day0 + timedelta(days=1), timezone=TZ, sample=EVERY)
    assert run.mismatches == 1
    fixed = _rows(pg, day0 + timedelta(days=1))[item.loan_id]
    want = _replayed(pg, day0 + timedelta(days=1))[item.loan_id]
    assert fixed.penalty_minor == want["penalty_minor"]


def test_open_promises_and_months_paid_are_recorded(pg: Session) -> None:
    _portfolio(pg, 40, seed=9)
    day = date(2026, 11, 15)
    loan_id = pg.scalars(select(Loan.id).limit(1)).one()
    pg.add(
        Promise(
            loan_id=loan_id,
            amount_minor=100,
            currency="CNY",
            promised_date=day + timedelta(days=2),
            created_on=day - timedelta(days=1),
            source="bot",
        )
    )
    pg.flush()
    snapshots.take(pg, day, timezone=TZ)
    rows = _rows(pg, day)
    assert rows[loan_id].promise_open
    assert sum(r.promise_open for r in rows.values()) == 1
    paid = dict(
        pg.execute(
            select(Payment.loan_id, func.sum(Payment.amount_minor))
            .where(Payment.received_on.between(date(2026, 11, 1), day))
            .group_by(Payment.loan_id)
        ).all()
    )
    assert {i: r.paid_month_minor for i, r in rows.items() if r.paid_month_minor} == paid
    assert pg.get(SnapshotRun, day) is not None


# ---- on either database ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_days_since_the_last_snapshot_are_taken_in_turn(db: Session) -> None:
    """SQLite replays every loan each day; PostgreSQL steps. Either way, the replay's figures."""
    _portfolio(db, 30, seed=11)
    first = date(2026, 11, 3)
    snapshots.take(db, first, timezone=TZ)
    db.commit()
    runs = snapshots.take_through(db, first + timedelta(days=3), timezone=TZ)
    assert [r.as_of for r in runs] == [first + timedelta(days=k) for k in (1, 2, 3)]
    stepping = db.get_bind().dialect.name == "postgresql"
    assert {r.method for r in runs} == {"step" if stepping else "replay"}
    last = first + timedelta(days=3)
    expected = _replayed(db, last)
    rows = _rows(db, last)
    assert {i: {c: getattr(r, c) for c in COMPARED} for i, r in rows.items()} == {
        i: {c: f[c] for c in COMPARED} for i, f in expected.items()
    }
    # After a gap of more than a week, only the day asked for, by the replay.
    far = last + timedelta(days=snapshots.MAX_STEPS + 5)
    [run] = snapshots.take_through(db, far, timezone=TZ)
    assert (run.as_of, run.method) == (far, "replay")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_month_ends_are_kept_and_older_days_pruned(db: Session) -> None:
    _portfolio(db, 5, seed=2)
    history = snapshots.take_history(db, date(2026, 11, 28), months=3, timezone=TZ)
    assert [r.as_of for r in history] == [
        date(2026, 8, 31),
        date(2026, 9, 30),
        date(2026, 10, 31),
        date(2026, 11, 28),
    ]
    for day in (date(2026, 10, 5), date(2026, 10, 6)):
        snapshots.take(db, day, timezone=TZ)  # older than the latest: history only
    dropped = snapshots.prune(db, date(2026, 11, 29), keep_days=30)
    assert dropped == [date(2026, 10, 5), date(2026, 10, 6)]
    kept = set(db.scalars(select(SnapshotRun.as_of)))
    assert kept == {date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 28)}
    assert set(db.scalars(select(PortfolioSnapshot.as_of).distinct())) == kept
