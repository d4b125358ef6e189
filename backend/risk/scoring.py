"""Scoring a snapshot day's open loans with the scores in use (after the snapshot, nightly), and
reading a loan's latest scores."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from backend.risk.dataset import can_roll, examples, month_ends
from backend.risk.model import LinearScore
from backend.risk.models import LoanScore, RiskModel

_CHUNK = 10_000


def active(session: Session) -> dict[str, RiskModel]:
    return {m.kind: m for m in session.scalars(select(RiskModel).where(RiskModel.active))}


def score_day(session: Session, day: date) -> int:
    """Score every loan open on snapshot day `day` with the scores in use; replaces the day's.
    Returns how many loans were scored (0 when no score is in use)."""
    models = active(session)
    session.execute(delete(LoanScore).where(LoanScore.as_of == day))
    if not models:
        return 0
    roll = models.get("roll_30")
    pay = models.get("pay_7")
    roll_score = LinearScore.of(roll.params) if roll else None
    pay_score = LinearScore.of(pay.params) if pay else None
    rows: list[dict[str, object]] = []
    scored = 0
    for e in examples(session, day, month_ends(session)):
        rolls = roll_score if roll_score and can_roll(e) else None
        rows.append(
            {
                "as_of": day,
                "loan_id": e.loan_id,
                "roll_30": round(rolls.probability(e.x), 4) if rolls else None,
                "pay_7": round(pay_score.probability(e.x), 4) if pay_score and e.dpd > 0 else None,
                "reasons": [
                    {"feature": r.feature, "weight": r.weight, "key": r.key}
                    for r in rolls.reasons(e.x)
                ]
                if rolls
                else [],
                "roll_version": roll.version if roll else None,
                "pay_version": pay.version if pay else None,
            }
        )
        if len(rows) == _CHUNK:  # a large book's rows are written as they come, not held
            scored += _write(session, rows)
    return scored + _write(session, rows)


def _write(session: Session, rows: list[dict[str, object]]) -> int:
    if rows:
        # NULLs written as such: rows are batched together, not split wherever a None falls.
        session.execute(insert(LoanScore).execution_options(render_nulls=True), rows)
    written = len(rows)
    rows.clear()
    return written


def latest_scores(session: Session, loan_ids: list[int]) -> dict[int, LoanScore]:
    """Each loan's scores of the latest scored day."""
    day = session.scalar(select(func.max(LoanScore.as_of)))
    if day is None or not loan_ids:
        return {}
    return {
        s.loan_id: s
        for s in session.scalars(
            select(LoanScore).where(LoanScore.as_of == day, LoanScore.loan_id.in_(loan_ids))
        )
    }
