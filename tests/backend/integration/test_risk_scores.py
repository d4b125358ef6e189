"""Training the scores on snapshots, on SQLite and PostgreSQL: a time split where the history
says who rolls (and the bucket does not) gives a model that beats both baselines and goes into
use; scoring a day writes each open loan's scores with reasons; too little history says so."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.demo.generator import generate
from backend.ledger.models import Loan
from backend.outreach.models import Reminder
from backend.outreach.service import due_now
from backend.outreach.worker import retrain
from backend.portfolio.models import PortfolioSnapshot, SnapshotRun
from backend.risk import scoring, train
from backend.risk.dataset import examples
from backend.risk.models import LoanScore, RiskModel
from tests.backend import factories

ENDS = [date(2026, m, 1) - timedelta(days=1) for m in range(3, 12)]  # Feb..Oct month ends


def _history(db: Session, *, months: list[date]) -> None:
    """Loans all current at every month end: half of them pay late within each month (their
    worst DPD shows a month later) and those roll into 1-30 at the next month end's mid-month
    check; the bucket alone cannot tell them apart."""
    generate(db, borrowers=300, as_of=date(2026, 1, 1), id_hash_key="k", seed=4, progress=False)
    loans = list(db.scalars(select(Loan.id).order_by(Loan.id)))
    rng = random.Random(7)
    late = {i for i in loans if rng.random() < 0.5}
    rows = []
    for k, day in enumerate(months):
        db.add(factories.snapshot_run(day, len(loans)))
        for i in loans:
            # A late payer is past due at about 40% of month ends, with a few days.
            behind = i in late and rng.random() < 0.4 and k > 0
            dpd = rng.randint(3, 20) if behind else 0
            rows.append(
                {
                    "as_of": day,
                    "loan_id": i,
                    "principal_minor": 100_000,
                    "interest_minor": 0,
                    "fees_minor": 0,
                    "penalty_minor": 0,
                    "total_minor": 100_000,
                    "overdue_minor": 5_000 if dpd else 0,
                    "dpd": dpd,
                    "bucket": "1-30" if dpd else "current",
                    "credit_minor": 0,
                    "future_principal_minor": 90_000,
                    "paid_month_minor": 0 if i in late and rng.random() < 0.7 else 8_000,
                    "arrangement": None,
                    "promise_open": False,
                }
            )
    db.execute(insert(PortfolioSnapshot), rows)
    db.flush()


def test_a_model_that_reads_the_history_beats_both_baselines(db: Session) -> None:
    _history(db, months=ENDS)
    done = train.train(db, "roll_30")
    m = done.model.metrics
    assert done.used and done.model.active and done.model.version == 1
    assert m["model"]["auc"] > m["bucket_alone"]["auc"]
    assert m["model"]["auc"] > m["dpd_alone"]["auc"]
    assert m["model"]["brier"] < min(m["bucket_alone"]["brier"], m["dpd_alone"]["brier"])
    assert done.model.tested_on == ENDS[-2]  # the last month end with a next one to judge by
    assert "time split" in done.model.card and "| this model |" in done.model.card
    assert sum(row["loans"] for row in m["calibration"]) == m["test"]["examples"]
    assert set(m["drift"]) >= {"dpd", "paid_share", "score"}
    # A second version: versioned, and only one in use.
    again = train.train(db, "roll_30")
    assert again.model.version == 2
    in_use = db.scalars(select(RiskModel).where(RiskModel.kind == "roll_30", RiskModel.active))
    assert [r.version for r in in_use] == ([2] if again.used else [1])

    scored = scoring.score_day(db, ENDS[-1])
    assert scored == 300
    scores = list(db.scalars(select(LoanScore).where(LoanScore.as_of == ENDS[-1])))
    assert all(0 <= s.roll_30 <= 1 for s in scores if s.roll_30 is not None)
    assert any(s.reasons for s in scores)


def test_too_little_history_is_said_not_guessed(db: Session) -> None:
    _history(db, months=ENDS[:2])
    with pytest.raises(train.NotEnoughData, match="at least 3"):
        train.train(db, "roll_30")
    assert scoring.score_day(db, ENDS[1]) == 0  # nothing in use: nothing scored


def test_reminders_due_together_go_riskiest_first(db: Session) -> None:
    at = datetime(2026, 11, 28, 2, tzinfo=UTC)
    made = {}
    for name, score in (("calm", 0.1), ("unscored", None), ("risky", 0.9)):
        who = factories.borrower(db, ref=f"B-{name}")
        loan = factories.loan(db, ref=f"L-{name}", who=who)
        if score is not None:
            db.add(LoanScore(as_of=date(2026, 11, 27), loan_id=loan.id, roll_30=score, reasons=[]))
        reminder = Reminder(
            loan_id=loan.id,
            borrower_id=who.id,
            step_id="overdue_1",
            variant="champion",
            template="overdue",
            occasion=date(2026, 11, 28),
            not_before=at,
        )
        db.add(reminder)
        db.flush()
        made[reminder.id] = name
    due = due_now(db, now=at, limit=10)
    assert [made[r.id] for r in due] == ["risky", "calm", "unscored"]


def test_a_score_is_trained_again_once_a_new_months_outcome_is_known(db: Session) -> None:
    _history(db, months=ENDS)
    october = db.get(SnapshotRun, ENDS[-1])
    db.delete(october)  # the worker has not taken October's month end yet
    db.flush()
    assert train.newest_test_month(db, "roll_30") == ENDS[-3]  # August, judged by September
    assert train.due(db, "roll_30")
    retrain(db)
    first = db.scalars(select(RiskModel).where(RiskModel.kind == "roll_30")).one()
    assert first.tested_on == ENDS[-3]
    assert not train.due(db, "roll_30")
    retrain(db)  # nothing new: the worker's next night trains nothing
    assert len(db.scalars(select(RiskModel).where(RiskModel.kind == "roll_30")).all()) == 1
    db.add(factories.snapshot_run(ENDS[-1], 300))  # October's: September's outcome known
    db.flush()
    assert train.due(db, "roll_30")
    retrain(db)
    versions = db.scalars(
        select(RiskModel.tested_on).where(RiskModel.kind == "roll_30").order_by(RiskModel.version)
    ).all()
    assert versions == [ENDS[-3], ENDS[-2]]


def test_a_loan_with_no_worse_bucket_is_not_scored_to_roll(db: Session) -> None:
    _history(db, months=ENDS)
    worst = db.scalars(select(PortfolioSnapshot).where(PortfolioSnapshot.as_of == ENDS[-1])).first()
    assert worst is not None
    worst.dpd, worst.bucket = 200, "180+"
    db.flush()
    assert train.train(db, "roll_30").used
    scoring.score_day(db, ENDS[-1])
    score = db.scalars(
        select(LoanScore).where(LoanScore.as_of == ENDS[-1], LoanScore.loan_id == worst.loan_id)
    ).one()
    assert score.roll_30 is None and score.reasons == []


def test_training_draws_a_bounded_sample_of_each_month_end(db: Session) -> None:
    _history(db, months=ENDS)
    every = {e.loan_id: e for e in examples(db, ENDS[-1], ENDS)}
    drawn = examples(db, ENDS[-1], ENDS, limit=50)
    assert len(drawn) == 50 and len(every) == 300
    assert [e.loan_id for e in drawn] == [e.loan_id for e in examples(db, ENDS[-1], ENDS, limit=50)]
    for e in drawn:  # the same features as when every loan is read
        assert e.x == every[e.loan_id].x
