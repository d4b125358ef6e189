"""What a score reads of a loan at a month end (pure): its snapshot then, the two month ends
before, and its contract. Every feature is a number; a missing month end reads as none owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.ledger.delinquency import Bucket

BUCKETS = tuple(b.value for b in Bucket)
NEVER = 365  # days since a reply or a contact that never happened: far back, not missing


@dataclass(frozen=True, slots=True)
class Position:
    """The snapshot columns a score reads (portfolio_snapshots)."""

    dpd: int
    bucket: str
    total: int
    overdue: int
    charges: int  # fees and penalty owed
    paid_month: int
    arrangement: bool
    promise_open: bool
    last_reply_on: date | None
    last_contact_on: date | None


def _slug(bucket: str) -> str:
    return "bucket_" + bucket.replace("-", "_").replace("+", "_plus")


# One feature per bucket: the odds of rolling are not a straight line in the bucket (a loan
# 180+ past due has no worse bucket to roll to).
BUCKET_FEATURES = tuple(_slug(b) for b in BUCKETS)
# The features, in order (console i18n: risk.reason.<name>.high|low says what a reason means).
FEATURES = (
    "dpd",
    *BUCKET_FEATURES,
    "overdue_share",
    "charges_share",
    "paid_this_month",
    "paid_share",
    "dpd_a_month_ago",
    "worst_dpd_before",
    "months_on_book",
    "term_done",
    "on_plan",
    "promise_open",
    "days_since_reply",
    "days_since_contact",
)


def features(
    now: Position,
    before: tuple[Position | None, Position | None],
    *,
    as_of: date,
    disbursed_on: date,
    term_months: int,
) -> list[float]:
    """The feature vector of FEATURES for a loan at month end `as_of`; `before`: its snapshots
    at the one and the two month ends before (None: it had none)."""
    month_ago, two_ago = before
    total = max(now.total, 1)
    months = (as_of.year - disbursed_on.year) * 12 + as_of.month - disbursed_on.month
    return [
        float(now.dpd),
        *(1.0 if b == now.bucket else 0.0 for b in BUCKETS),
        now.overdue / total,
        now.charges / total,
        1.0 if now.paid_month > 0 else 0.0,
        min(now.paid_month / total, 1.0),
        float(month_ago.dpd if month_ago else 0),
        float(max(p.dpd for p in (month_ago, two_ago) if p) if month_ago or two_ago else 0),
        float(months),
        min(months / max(term_months, 1), 1.5),
        1.0 if now.arrangement else 0.0,
        1.0 if now.promise_open else 0.0,
        float(_days_since(now.last_reply_on, as_of)),
        float(_days_since(now.last_contact_on, as_of)),
    ]


def _days_since(day: date | None, as_of: date) -> int:
    return NEVER if day is None else min(max((as_of - day).days, 0), NEVER)
