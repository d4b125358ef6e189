"""Early warning over a snapshot day, on SQLite and PostgreSQL: the facts are read from the
snapshots and the day's events, the flagged loans stored once per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.config import Settings
from backend.conversations.models import Conversation
from backend.early_warning import service
from backend.early_warning.models import LoanWarning
from backend.early_warning.policy import load_monitoring_policy
from backend.ledger.models import Installment, Loan
from backend.outreach import planner
from backend.outreach.models import Reminder
from backend.outreach.setup import load_outreach_config
from backend.portfolio import snapshots
from backend.portfolio.models import PortfolioSnapshot, SnapshotRun
from backend.promises.models import Promise
from tests.backend import factories
from tests.backend.integration.test_portfolio_snapshots import _portfolio

DAY = date(2026, 11, 28)
TZ = "Asia/Shanghai"
POLICY = load_monitoring_policy(Path(__file__).parents[3] / "config")


def _flags(db: Session) -> dict[int, list[str]]:
    return {
        w.loan_id: [s["code"] for s in w.signals]
        for w in db.scalars(select(LoanWarning).where(LoanWarning.as_of == DAY))
    }


def _current_loans(db: Session, n: int) -> list[Loan]:
    ids = db.scalars(
        select(PortfolioSnapshot.loan_id)
        .where(PortfolioSnapshot.as_of == DAY, PortfolioSnapshot.dpd == 0)
        .where(PortfolioSnapshot.total_minor > 0)
        .order_by(PortfolioSnapshot.loan_id)
        .limit(n)
    ).all()
    return [db.get(Loan, i) for i in ids]  # type: ignore[misc]


def test_signals_from_the_snapshot_and_the_days_events(db: Session) -> None:
    _portfolio(db, 60, seed=21)
    snapshots.take(db, DAY, timezone=TZ)
    quiet = _current_loans(db, 4)
    promised, opted, reminded, later = quiet
    at = datetime(2026, 11, 27, 4, tzinfo=UTC)
    db.add(
        Promise(
            loan_id=promised.id,
            amount_minor=5000,
            currency=promised.currency,
            promised_date=DAY - timedelta(days=3),
            created_on=DAY - timedelta(days=6),
            status="broken",
            resolved_on=DAY - timedelta(days=1),
            source="bot",
        )
    )
    chat = Conversation(channel="telegram", channel_user_id="ew-1", borrower_id=opted.borrower_id)
    db.add(chat)
    db.flush()
    db.add(
        Case(kind="opt_out", conversation_id=chat.id, borrower_id=opted.borrower_id, created_at=at)
    )
    for k in range(3):
        db.add(
            Reminder(
                loan_id=reminded.id,
                borrower_id=reminded.borrower_id,
                step_id="overdue_3",
                variant="a",
                template="overdue",
                occasion=DAY - timedelta(days=k),
                status="sent",
                not_before=at - timedelta(days=k),
                sent_at=at - timedelta(days=k),
            )
        )
    # Paying later each month: month ends of September and October, then the day itself.
    for day, dpd in ((date(2026, 9, 30), 2), (date(2026, 10, 31), 5)):
        if db.get(SnapshotRun, day) is None:
            db.add(factories.snapshot_run(day, 1))
        db.add(
            PortfolioSnapshot(
                as_of=day,
                loan_id=later.id,
                principal_minor=1,
                interest_minor=0,
                fees_minor=0,
                penalty_minor=0,
                total_minor=1,
                overdue_minor=1,
                dpd=dpd,
                bucket="1-30",
                credit_minor=0,
                future_principal_minor=0,
                paid_month_minor=100,
            )
        )
    row = db.get(PortfolioSnapshot, (DAY, later.id))
    assert row is not None
    row.dpd, row.overdue_minor, row.paid_month_minor = 9, 1, 100
    db.flush()

    tally = service.flag(db, DAY, POLICY, timezone=TZ)
    flags = _flags(db)
    assert flags[promised.id] == ["promise_broken"]
    assert flags[opted.id] == ["opted_out"]
    assert flags[reminded.id] == ["unanswered"]
    assert "paying_later" in flags[later.id]
    # First payment missed: exactly the loans whose oldest unpaid due date is the first one.
    first_due = dict(
        db.execute(
            select(Installment.loan_id, Installment.due_date).where(Installment.seq == 1)
        ).all()
    )
    missed = {
        r.loan_id
        for r in db.scalars(
            select(PortfolioSnapshot).where(
                PortfolioSnapshot.as_of == DAY, PortfolioSnapshot.dpd > 0
            )
        )
        if (DAY - first_due[r.loan_id]).days == r.dpd and r.dpd <= 30
    }
    assert missed
    assert {i for i, codes in flags.items() if "first_payment_missed" in codes} == missed
    assert tally.flagged == len(flags)
    top = db.get(LoanWarning, (DAY, promised.id))
    assert top is not None and top.top == "promise_broken" and top.severity == 1

    # A second run replaces the day's rows: nothing doubles.
    again = service.flag(db, DAY, POLICY, timezone=TZ)
    assert again.flagged == tally.flagged
    assert len(_flags(db)) == tally.flagged


def test_a_flag_plans_the_step_that_answers_it_the_next_morning(db: Session) -> None:
    """config/outreach.yml's early_warning step answers first_payment_missed (among others):
    planned for exactly the loans flagged with one of its signals, the morning after."""
    config = load_outreach_config(Path(__file__).parents[3] / "config", Settings())
    step = config.policy.step("early_warning")
    _portfolio(db, 60, seed=21)
    snapshots.take(db, DAY, timezone=TZ)
    service.flag(db, DAY, POLICY, timezone=TZ)
    answered = {loan_id for loan_id, codes in _flags(db).items() if set(codes) & set(step.signals)}
    assert answered
    morning = DAY + timedelta(days=1)
    planner.plan(db, today=morning, now=datetime(2026, 11, 29, 1, tzinfo=UTC), policy=config.policy)
    planned = set(
        db.scalars(
            select(Reminder.loan_id).where(
                Reminder.step_id == "early_warning", Reminder.occasion == morning
            )
        )
    )
    assert planned == answered
