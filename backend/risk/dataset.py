"""Examples for the scores, read from the snapshots: each open loan at a month end, its
features (`features.py`), and what happened next (the labels)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backend.ledger.models import Loan, Payment
from backend.portfolio.models import PortfolioSnapshot as Snap
from backend.portfolio.models import SnapshotRun
from backend.risk.features import BUCKETS, Position, features

PAY_DAYS = 7  # pay_7: a payment within this many days


@dataclass(frozen=True, slots=True)
class Example:
    loan_id: int
    as_of: date
    x: list[float]
    dpd: int
    bucket_rank: int


def month_ends(session: Session) -> list[date]:
    """The snapshot days that are a month's last, oldest first."""
    days = session.scalars(select(SnapshotRun.as_of).order_by(SnapshotRun.as_of)).all()
    return [d for d in days if (d + timedelta(days=1)).day == 1]


_COLUMNS = (
    Snap.loan_id,
    Snap.dpd,
    Snap.bucket,
    Snap.total_minor,
    Snap.overdue_minor,
    Snap.fees_minor,
    Snap.penalty_minor,
    Snap.paid_month_minor,
    Snap.arrangement,
    Snap.promise_open,
    Snap.last_reply_on,
    Snap.last_contact_on,
)
_IDS_AT_ONCE = 10_000  # a bound parameter each, and PostgreSQL takes at most 65,535


def _positions(
    session: Session, day: date, ids: Sequence[int] | None = None
) -> dict[int, Position]:
    """The positions on snapshot day `day` of every loan, or of these loans."""
    q = select(*_COLUMNS).where(Snap.as_of == day)
    if ids is None:
        return _read(session, q)
    found: dict[int, Position] = {}
    for start in range(0, len(ids), _IDS_AT_ONCE):
        found |= _read(session, q.where(Snap.loan_id.in_(ids[start : start + _IDS_AT_ONCE])))
    return found


def _read(session: Session, q: Select[*tuple[Any, ...]]) -> dict[int, Position]:
    # By position: a month end of a million loans is read whole, and named access to each
    # row's twelve columns cost seconds.
    found = {}
    for row in session.execute(q):
        loan, dpd, bucket, total, overdue, fees, penalty, paid, plan, promise, wrote, sent = row
        found[loan] = Position(
            dpd,
            bucket,
            total,
            overdue,
            fees + penalty,
            paid,
            plan is not None,
            promise,
            wrote,
            sent,
        )
    return found


Contracts = dict[int, tuple[date, int]]  # loan id -> (disbursed on, term in months)


def contracts(session: Session) -> Contracts:
    """What the features read of each loan's contract: read once for every month end."""
    return {
        r.id: (r.disbursed_on, r.term_months)
        for r in session.execute(select(Loan.id, Loan.disbursed_on, Loan.term_months))
    }


def examples(
    session: Session,
    day: date,
    ends: Sequence[date],
    terms: Contracts | None = None,
    *,
    limit: int | None = None,
) -> list[Example]:
    """Every loan open on snapshot day `day`, with its features; `ends`: the month ends known
    (the two before `day` are read as its history); `terms`: `contracts()`, when at hand;
    `limit`: at most this many loans, drawn at random (the same each time for the day)."""
    earlier = [e for e in ends if e < day]
    ids: list[int] | None = None
    if limit is not None:  # drawn before reading: only the loans drawn are read whole
        open_ids = sorted(
            session.scalars(select(Snap.loan_id).where(Snap.as_of == day, Snap.total_minor > 0))
        )
        if len(open_ids) > limit:
            ids = sorted(random.Random(day.toordinal()).sample(open_ids, limit))
    now = {i: p for i, p in _positions(session, day, ids).items() if p.total > 0}
    month_ago = _positions(session, earlier[-1], ids) if earlier else {}
    two_ago = _positions(session, earlier[-2], ids) if len(earlier) > 1 else {}
    if terms is None:
        terms = contracts(session)
    found = []
    for loan_id, p in sorted(now.items()):
        disbursed_on, term = terms[loan_id]
        x = features(
            p,
            (month_ago.get(loan_id), two_ago.get(loan_id)),
            as_of=day,
            disbursed_on=disbursed_on,
            term_months=term,
        )
        found.append(Example(loan_id, day, x, p.dpd, BUCKETS.index(p.bucket)))
    return found


def can_roll(example: Example) -> bool:
    """A loan in the worst bucket has none worse to roll to: roll_30 neither learns from it nor
    scores it (its outcome is known, and a line through the rest would call it certain)."""
    return example.bucket_rank < len(BUCKETS) - 1


def rolled(session: Session, day: date, next_end: date, rows: Sequence[Example]) -> list[int]:
    """1 where the loan is in a worse bucket at the next month end than at `day` (a loan
    repaid by then did not roll)."""
    got = _positions(session, next_end, [e.loan_id for e in rows])
    then = {i: BUCKETS.index(p.bucket) for i, p in got.items()}
    return [1 if then.get(e.loan_id, 0) > e.bucket_rank else 0 for e in rows]


def paid(session: Session, day: date, rows: Sequence[Example]) -> list[int]:
    """1 where a payment was received within PAY_DAYS days after `day`."""
    payers = set(
        session.scalars(
            select(Payment.loan_id)
            .where(Payment.received_on > day, Payment.received_on <= day + timedelta(PAY_DAYS))
            .distinct()
        )
    )
    return [1 if e.loan_id in payers else 0 for e in rows]
