"""The portfolio over time, read from the daily snapshots only (never the ledger's replay):
where the loans stand by delinquency bucket on each month end, how they moved from one month
end to the next (roll rates), and how each product's monthly vintages go 30+ days past due
(vintage curves). Aggregated in SQL (SQLite and PostgreSQL); amounts only ever per currency.

Definitions:

- A month end is a snapshot day that is its calendar month's last day. The days come from
  `snapshot_runs` (written in the same transaction as the day's rows): cheaper than a
  DISTINCT over every loan's rows.
- A loan whose `total_minor` is 0 on a day is closed: it owes nothing. Closed loans are left
  out of the buckets and counted on their own.
- Roll rates, month end A to the next month end B: the loans open on A, by their bucket on A,
  and where each is on B: a bucket, or closed. Each row's shares sum to 100%.
- Vintage: a product's loans disbursed in one calendar month. At a month end, its 30+ share
  is the vintage's loans in a bucket past 30 days (31-60 and worse) over the vintage's loans
  disbursed by that month end (closed ones included: a loan repaid is not delinquent).
  Month on book: calendar months from the disbursement month (0: its own month end).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Integer, and_, case, cast, extract, func, select
from sqlalchemy.orm import Session, aliased

from backend.ledger.delinquency import Bucket
from backend.ledger.models import Loan, Product
from backend.portfolio.models import PortfolioSnapshot, SnapshotRun

BUCKETS = tuple(b.value for b in Bucket)
CLOSED = "closed"  # where a loan repaid in full goes: not a bucket
PAST_30 = tuple(b.value for b in Bucket if b not in (Bucket.CURRENT, Bucket.DPD_1_30))


@dataclass(frozen=True, slots=True)
class Distribution:
    """The loans on one snapshot day: open ones per bucket, the amount they owe per currency
    and bucket (minor units), and how many are closed."""

    as_of: date
    month_end: bool
    loans: dict[str, int]  # bucket -> open loans (every bucket, 0 when none)
    outstanding: dict[str, dict[str, int]]  # currency -> bucket -> total_minor of open loans
    closed: int

    @property
    def open(self) -> int:
        return sum(self.loans.values())


@dataclass(frozen=True, slots=True)
class RollRates:
    """Loans open at the `start` month end, from their bucket then to where they are at
    `end`, the next month end: counts by (bucket at start, bucket or "closed" at end)."""

    start: date
    end: date
    counts: dict[tuple[str, str], int]

    def loans(self, start_bucket: str) -> int:
        return sum(n for (then, _), n in self.counts.items() if then == start_bucket)

    def share(self, start_bucket: str, end_state: str) -> float | None:
        """Of the loans in `start_bucket` at the start, the share in `end_state` at the end."""
        whole = self.loans(start_bucket)
        return self.counts.get((start_bucket, end_state), 0) / whole if whole else None


@dataclass(frozen=True, slots=True)
class VintagePoint:
    as_of: date  # a month end
    month_on_book: int
    loans: int  # of the vintage, disbursed by `as_of`
    past_30: int  # of those, in a bucket past 30 days on `as_of`

    @property
    def share(self) -> float | None:
        return self.past_30 / self.loans if self.loans else None


@dataclass(frozen=True, slots=True)
class Vintage:
    month: date  # the disbursement month's first day
    points: tuple[VintagePoint, ...]  # by month on book

    @property
    def loans(self) -> int:
        """The vintage's size as the latest month end counted it."""
        return self.points[-1].loans if self.points else 0

    def at(self, month_on_book: int) -> VintagePoint | None:
        return next((p for p in self.points if p.month_on_book == month_on_book), None)


@dataclass(frozen=True, slots=True)
class ProductVintages:
    code: str
    name: str
    vintages: tuple[Vintage, ...]  # oldest first

    @property
    def months_on_book(self) -> int:
        """The longest curve's last month on book (0 for none)."""
        return max((p.month_on_book for v in self.vintages for p in v.points), default=0)


@dataclass(frozen=True, slots=True)
class Portfolio:
    days: tuple[date, ...]  # every snapshot day, oldest first
    distribution: tuple[Distribution, ...]  # the month ends and the latest day
    roll_ends: tuple[date, ...]  # month ends with the previous month end also taken
    rolls: RollRates | None
    vintages: tuple[ProductVintages, ...]

    @property
    def latest(self) -> date | None:
        return self.days[-1] if self.days else None

    @property
    def month_ends(self) -> tuple[date, ...]:
        return tuple(d for d in self.days if is_month_end(d))


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def previous_month_end(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


def month_index(day: date) -> int:
    """Months since year 0, for months-apart arithmetic."""
    return day.year * 12 + day.month - 1


def snapshot_days(session: Session) -> list[date]:
    return list(session.scalars(select(SnapshotRun.as_of).order_by(SnapshotRun.as_of)))


def roll_ends(month_ends: Sequence[date]) -> list[date]:
    """The month ends a roll-rate matrix can end on: the month end before is there too (a
    gap would make a two-month roll look like a one-month one)."""
    taken = set(month_ends)
    return [d for d in month_ends if previous_month_end(d) in taken]


def build(session: Session, roll_end: date | None = None) -> Portfolio:
    """Every figure of the Portfolio page; the roll rates end on `roll_end` when it can (else
    on the latest month end that can)."""
    days = snapshot_days(session)
    ends = [d for d in days if is_month_end(d)]
    shown = sorted({*ends, *days[-1:]})
    pairs = roll_ends(ends)
    end = roll_end if roll_end in pairs else (pairs[-1] if pairs else None)
    return Portfolio(
        days=tuple(days),
        distribution=tuple(distribution(session, shown)),
        roll_ends=tuple(pairs),
        rolls=None if end is None else roll_rates(session, previous_month_end(end), end),
        vintages=tuple(vintages(session, ends)),
    )


def distribution(session: Session, days: Sequence[date]) -> list[Distribution]:
    """Open loans and their outstanding per bucket (and per currency) on each of `days`."""
    if not days:
        return []
    snap = PortfolioSnapshot
    # Closed loans are counted inside their bucket's group and taken out after: grouping by
    # an expression with a bound parameter would not match its SELECT twin on PostgreSQL.
    rows = session.execute(
        select(
            snap.as_of,
            Loan.currency,
            snap.bucket,
            func.count(),
            func.sum(case((snap.total_minor == 0, 1), else_=0)),
            func.sum(snap.total_minor),
        )
        .join(Loan, Loan.id == snap.loan_id)
        .where(snap.as_of.in_(days))
        .group_by(snap.as_of, Loan.currency, snap.bucket)
    )
    loans: dict[date, dict[str, int]] = {d: dict.fromkeys(BUCKETS, 0) for d in days}
    owed: dict[date, dict[str, dict[str, int]]] = {d: {} for d in days}
    closed: dict[date, int] = dict.fromkeys(days, 0)
    for day, currency, bucket, count, shut, total in rows:
        opened = int(count) - int(shut)
        closed[day] += int(shut)
        if opened:
            loans[day][bucket] = loans[day].get(bucket, 0) + opened
            per_bucket = owed[day].setdefault(currency, dict.fromkeys(BUCKETS, 0))
            per_bucket[bucket] = per_bucket.get(bucket, 0) + int(total)
    return [
        Distribution(
            as_of=d,
            month_end=is_month_end(d),
            loans=loans[d],
            outstanding=dict(sorted(owed[d].items())),
            closed=closed[d],
        )
        for d in days
    ]


def roll_rates(session: Session, start: date, end: date) -> RollRates:
    """Loans open on `start`, from their bucket then to their bucket (or closed) on `end`."""
    then, now = aliased(PortfolioSnapshot), aliased(PortfolioSnapshot)
    rows = session.execute(
        select(
            then.bucket,
            now.bucket,
            func.count(),
            func.sum(case((now.total_minor == 0, 1), else_=0)),
        )
        .join(now, and_(now.loan_id == then.loan_id, now.as_of == end))
        .where(then.as_of == start, then.total_minor > 0)
        .group_by(then.bucket, now.bucket)
    )
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for from_bucket, to_bucket, count, shut in rows:
        if int(count) - int(shut):
            counts[(from_bucket, to_bucket)] += int(count) - int(shut)
        if shut:
            counts[(from_bucket, CLOSED)] += int(shut)
    return RollRates(start=start, end=end, counts=dict(counts))


def vintages(session: Session, month_ends: Sequence[date]) -> list[ProductVintages]:
    """Each product's vintages, with the 30+ share at each month end since disbursement."""
    if not month_ends:
        return []
    snap = PortfolioSnapshot
    year = cast(extract("year", Loan.disbursed_on), Integer)
    month = cast(extract("month", Loan.disbursed_on), Integer)
    rows = session.execute(
        select(
            Product.code,
            Product.name,
            year,
            month,
            snap.as_of,
            func.count(),
            func.sum(case((snap.bucket.in_(PAST_30), 1), else_=0)),
        )
        .join(Loan, Loan.id == snap.loan_id)
        .join(Product, Product.id == Loan.product_id)
        .where(snap.as_of.in_(month_ends), Loan.disbursed_on <= snap.as_of)
        .group_by(Product.code, Product.name, year, month, snap.as_of)
    )
    names: dict[str, str] = {}
    points: dict[tuple[str, date], list[VintagePoint]] = defaultdict(list)
    for code, name, y, m, as_of, count, past in rows:
        names[code] = name
        vintage = date(int(y), int(m), 1)
        mob = month_index(as_of) - month_index(vintage)
        points[(code, vintage)].append(VintagePoint(as_of, mob, int(count), int(past)))
    return [
        ProductVintages(
            code=code,
            name=names[code],
            vintages=tuple(
                Vintage(month, tuple(sorted(found, key=lambda p: p.month_on_book)))
                for (c, month), found in sorted(points.items())
                if c == code
            ),
        )
        for code in sorted(names)
    ]
