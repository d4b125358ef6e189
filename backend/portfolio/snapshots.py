"""Taking the daily snapshot (`python -m backend snapshot`, and the worker after each business
day closes). Idempotent per date: a day already taken is left as it is.

- On PostgreSQL, when the day before holds the open installments, the day is stepped forward
  in SQL (`step.py`) and only the loans it cannot carry are replayed; then `CHECK_SAMPLE`
  stepped loans, drawn at random, are replayed and compared, and any difference is replaced
  by the replay's figures, counted on the run and logged.
- Otherwise (the first day, a gap of more than `MAX_STEPS` days, SQLite) every loan is replayed.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.ledger.models import Loan, Payment
from backend.ledger.portfolio import LedgerRows, ledger_rows, loan_statements
from backend.ledger.statement import Statement
from backend.portfolio.figures import (
    COMPARED,
    OpenItem,
    carried,
    figures,
    open_items,
    steppable,
)
from backend.portfolio.models import PortfolioSnapshot, SnapshotItem, SnapshotRun
from backend.portfolio.step import REPLAY_TABLE, select_replay, write_stepped
from backend.promises.models import Promise
from backend.risk.models import LoanScore
from backend.types import utcnow

log = logging.getLogger("backend.portfolio")

CHECK_SAMPLE = 1000  # stepped loans replayed each run to prove the step equal to the ledger
MAX_STEPS = 7  # a longer gap is replayed in full rather than stepped day by day
BUSY = "busy"  # the method of a run another worker holds the lock for
_CHUNK = 5000
# Loans left to the replay whose ledger rows are read before the step, to replay while the
# database steps the rest (memory: a few kB a loan); any beyond are replayed after it.
AHEAD = 20_000
_LOCK_KEY = 0x534E4150  # "SNAP"
# A payment committed just after the last run began may carry an earlier timestamp.
_SINCE_MARGIN = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RunResult:
    as_of: date
    method: str
    loans: int
    replayed: int
    checked: int
    mismatches: int
    seconds: float
    taken: bool  # False: the day had been taken before, nothing was done

    @classmethod
    def of(cls, run: SnapshotRun, *, taken: bool) -> RunResult:
        return cls(
            run.as_of,
            run.method,
            run.loans,
            run.replayed,
            run.checked,
            run.mismatches,
            run.seconds,
            taken,
        )


def take(
    session: Session,
    as_of: date,
    *,
    timezone: str,
    sample: int = CHECK_SAMPLE,
    seed: int | None = None,
) -> RunResult:
    """The snapshot of business day `as_of` (its close, in `timezone`)."""
    if not _only_taker(session):
        return RunResult(as_of, BUSY, 0, 0, 0, 0, 0.0, taken=False)
    done = session.get(SnapshotRun, as_of)
    if done is not None:
        return RunResult.of(done, taken=False)
    started, t0 = utcnow(), time.perf_counter()
    state = _state_day(session)
    holds_state = state is None or as_of > state
    prev = as_of - timedelta(days=1)
    if state == prev and session.get_bind().dialect.name == "postgresql":
        last = session.get(SnapshotRun, prev)
        assert last is not None
        since = last.started_at - _SINCE_MARGIN
        replay_ids, stepped, replayed, checked, mismatches = _step(
            session, as_of, prev=prev, since=since, sample=sample, seed=seed
        )
        method = "step"
    else:
        if holds_state:
            session.execute(delete(SnapshotItem))
        replayed = _replay(session, as_of, None, with_items=holds_state)
        replay_ids, stepped, checked, mismatches, method = None, 0, 0, 0, "replay"
    if session.get_bind().dialect.name == "postgresql":
        # The day's rows are all written: the statements below, and tomorrow's step, plan their
        # joins on these statistics (without them a million new rows look like none until
        # autovacuum comes by, and a plan can take minutes).
        session.execute(text("ANALYZE portfolio_snapshots, snapshot_items"))
    _paid_this_month(session, as_of, replay_ids)
    _promises(session, as_of)
    _contacts(session, as_of, timezone, stepped=method == "step", ids=replay_ids)
    if holds_state and state is not None:
        session.execute(update(SnapshotRun).values(holds_state=False))
    run = SnapshotRun(
        as_of=as_of,
        method=method,
        loans=stepped + replayed,
        replayed=replayed,
        checked=checked,
        mismatches=mismatches,
        seconds=round(time.perf_counter() - t0, 3),
        holds_state=holds_state,
        started_at=started,
    )
    session.add(run)
    session.flush()
    if mismatches:
        log.error(
            "snapshot %s: %s of %s checked loans differed from the replay",
            as_of,
            mismatches,
            checked,
        )
    return RunResult.of(run, taken=True)


def _step(
    session: Session, as_of: date, *, prev: date, since: datetime, sample: int, seed: int | None
) -> tuple[list[int], int, int, int, int]:
    """Day `as_of` stepped from `prev` in SQL, the loans it cannot step replayed, a sample of
    the stepped ones checked: (the replayed loans, how many stepped, how many replayed, how
    many checked, how many of those differed)."""
    t0 = time.perf_counter()
    replay_ids = select_replay(session, day=as_of, prev=prev, since=since)
    check_ids = _check_sample(session, prev, sample=sample, seed=seed)
    ahead = ledger_rows(session, as_of, replay_ids[:AHEAD])
    to_check = ledger_rows(session, as_of, check_ids)
    t1 = time.perf_counter()
    # Replaying is Python's work and stepping the database's (a process of its own): the
    # replays run on a thread while the database writes the stepped rows.
    with ThreadPoolExecutor(max_workers=1) as pool:
        replaying = pool.submit(_replayed, ahead)
        expecting = pool.submit(_replayed, to_check)
        stepped = write_stepped(session, day=as_of, prev=prev)
        t2 = time.perf_counter()
        done, expected = replaying.result(), expecting.result()
    t3 = time.perf_counter()
    replayed = _write(session, as_of, done, with_items=True)
    replayed += _replay(session, as_of, replay_ids[AHEAD:], with_items=True)
    checked, mismatches = _compare(session, as_of, expected)
    log.info(
        "snapshot %s: read %s loans to replay and %s to check in %.1f s, stepped in %.1f s, "
        "waited %.1f s more for the replay, wrote and compared in %.1f s",
        as_of,
        replayed,
        checked,
        t1 - t0,
        t2 - t1,
        t3 - t2,
        time.perf_counter() - t3,
    )
    return replay_ids, stepped, replayed, checked, mismatches


def prune(session: Session, today: date, *, keep_days: int) -> list[date]:
    """Drop the daily snapshots older than `keep_days`, keeping every month's last day (the
    roll rates and vintages read those) and the day the open items are of."""
    cutoff = today - timedelta(days=keep_days)
    old = session.scalars(
        select(SnapshotRun.as_of).where(SnapshotRun.as_of < cutoff, ~SnapshotRun.holds_state)
    ).all()
    dropped = [day for day in old if _month_end(day) != day]
    if dropped:
        session.execute(delete(PortfolioSnapshot).where(PortfolioSnapshot.as_of.in_(dropped)))
        session.execute(delete(LoanScore).where(LoanScore.as_of.in_(dropped)))
        session.execute(delete(SnapshotRun).where(SnapshotRun.as_of.in_(dropped)))
    return dropped


def take_through(
    session: Session, last_day: date, *, timezone: str, sample: int = CHECK_SAMPLE
) -> list[RunResult]:
    """Every day from the latest snapshot up to `last_day` (after a gap of at most
    `MAX_STEPS` days; otherwise only `last_day`). Commits after each day."""
    latest = session.scalar(select(func.max(SnapshotRun.as_of)))
    if latest is None or latest >= last_day or (last_day - latest).days > MAX_STEPS:
        days = [last_day]
    else:
        days = [latest + timedelta(days=k) for k in range(1, (last_day - latest).days + 1)]
    results = []
    for day in days:
        result = take(session, day, timezone=timezone, sample=sample)
        session.commit()
        if result.method == BUSY:
            break  # another worker is taking it, and will take the days after
        results.append(result)
    return results


def month_ends(through: date, months: int) -> list[date]:
    """The last days of the `months` calendar months before `through`'s, oldest first."""
    first = through.replace(day=1)
    ends = []
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
        ends.append(_month_end(first))
    return sorted(ends)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def take_history(session: Session, through: date, *, months: int, timezone: str) -> list[RunResult]:
    """The month-end snapshots of the last `months` months (by replay: history for the
    Portfolio page on a new installation), then every day up to `through`. Commits."""
    results = []
    for day in month_ends(through, months):
        results.append(take(session, day, timezone=timezone))
        session.commit()
    return results + take_through(session, through, timezone=timezone)


def _only_taker(session: Session) -> bool:
    """On PostgreSQL, one snapshot at a time across workers (held to the transaction's end)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    # Keyed by schema too: advisory locks are the whole database's, schemas may be apart.
    key = func.pg_try_advisory_xact_lock(_LOCK_KEY, func.hashtext(func.current_schema()))
    return bool(session.scalar(select(key)))


def _state_day(session: Session) -> date | None:
    return session.scalar(select(SnapshotRun.as_of).where(SnapshotRun.holds_state))


@dataclass(frozen=True, slots=True)
class Replayed:
    """A loan's snapshot figures and open items by the ledger's replay."""

    loan_id: int
    row: dict[str, object]  # figures(st).row()
    items: list[OpenItem]
    item_rows: list[dict[str, object]]  # the items as snapshot_items rows
    steppable: bool  # the next day may step it from those items


def _replay_one(loan: Any, st: Statement, as_of: date) -> Replayed:
    items = open_items(st, loan.grace_days)
    return Replayed(
        loan.id,
        figures(st).row(),
        items,
        [
            i.row(loan.id, on=as_of, rate=loan.penalty_daily_rate, late_fee=loan.late_fee_minor)
            for i in items
        ],
        steppable(st),
    )


def _replayed(ledger: Sequence[LedgerRows]) -> list[Replayed]:
    """The replay of loans whose ledger rows are read: pure, safe off the session's thread."""
    return [_replay_one(r.loan, r.statement(), r.as_of) for r in ledger]


def _replay(session: Session, as_of: date, ids: Sequence[int] | None, *, with_items: bool) -> int:
    """Snapshot rows (and open items) of these loans, or of every loan, from the replay."""
    if ids is not None and not ids:
        return 0
    count = 0
    done: list[Replayed] = []
    for loan, st in loan_statements(session, as_of, ids=ids, chunk=2000):
        done.append(_replay_one(loan, st, as_of))
        if len(done) >= _CHUNK:
            count += _write(session, as_of, done, with_items=with_items)
            done = []
    return count + _write(session, as_of, done, with_items=with_items)


def _write(session: Session, as_of: date, done: Sequence[Replayed], *, with_items: bool) -> int:
    for start in range(0, len(done), _CHUNK):
        part = done[start : start + _CHUNK]
        session.execute(
            # NULLs written as such (an arrangement is mostly none): one batch, not one
            # wherever a None falls.
            insert(PortfolioSnapshot).execution_options(render_nulls=True),
            [
                {"as_of": as_of, "loan_id": r.loan_id, **r.row}
                | {"paid_month_minor": 0, "promise_open": False}
                for r in part
            ],
        )
        items = [i for r in part if with_items and r.steppable for i in r.item_rows]
        if items:
            session.execute(insert(SnapshotItem), items)
    return len(done)


def _check_sample(session: Session, prev: date, *, sample: int, seed: int | None) -> list[int]:
    """Up to `sample` loans drawn at random among those the day steps (yesterday's, not left to
    the replay): replayed and compared once the step has written them."""
    if sample <= 0:
        return []
    # Loan ids drawn at random, kept when stepped: index lookups, where ordering a million rows
    # by random() took a second.
    low, high = session.execute(select(func.min(Loan.id), func.max(Loan.id))).one()
    draw = random.Random(seed)
    wanted = draw.sample(range(low, high + 1), min(high - low + 1, sample * 3))
    stepped = select(PortfolioSnapshot.loan_id).where(
        PortfolioSnapshot.as_of == prev,
        PortfolioSnapshot.loan_id.in_(wanted),
        PortfolioSnapshot.loan_id.not_in(select(REPLAY_TABLE.c.loan_id)),
    )
    found = set(session.scalars(stepped))
    return [i for i in wanted if i in found][:sample]


def _compare(session: Session, as_of: date, expected: Sequence[Replayed]) -> tuple[int, int]:
    """The stepped rows and open items of the checked loans against their replay; a difference
    is replaced by the replay's figures and open items."""
    ids = [e.loan_id for e in expected]
    if not ids:
        return 0, 0
    rows = {
        r.loan_id: r
        for r in session.scalars(
            select(PortfolioSnapshot).where(
                PortfolioSnapshot.as_of == as_of, PortfolioSnapshot.loan_id.in_(ids)
            )
        )
    }
    held = _items_of(session, ids, as_of)
    fixes: list[dict[str, Any]] = []
    items: list[dict[str, object]] = []
    for e in expected:
        row = rows[e.loan_id]
        if any(getattr(row, c) != e.row[c] for c in COMPARED) or held.get(e.loan_id) != (
            e.items or None
        ):
            log.error(
                "snapshot %s, loan %s: stepped %s, replayed %s",
                as_of,
                e.loan_id,
                {c: getattr(row, c) for c in COMPARED},
                {c: e.row[c] for c in COMPARED},
            )
            fixes.append({"as_of": as_of, "loan_id": e.loan_id, **e.row})
            items.extend(e.item_rows)
    wrong = [f["loan_id"] for f in fixes]
    if wrong:
        session.execute(delete(SnapshotItem).where(SnapshotItem.loan_id.in_(wrong)))
        session.execute(update(PortfolioSnapshot), fixes)  # by primary key: the rest is kept
        if items:
            session.execute(insert(SnapshotItem), items)
    return len(ids), len(wrong)


def _items_of(session: Session, ids: Iterable[int], day: date) -> dict[int, list[OpenItem]]:
    """The snapshot items of these loans as they stand on `day`."""
    found: dict[int, list[OpenItem]] = {}
    for item in session.scalars(
        select(SnapshotItem)
        .where(SnapshotItem.loan_id.in_(list(ids)))
        .order_by(SnapshotItem.loan_id, SnapshotItem.due_date, SnapshotItem.seq)
    ):
        found.setdefault(item.loan_id, []).append(carried(item, day))
    return found


def _paid_this_month(session: Session, as_of: date, ids: Sequence[int] | None) -> None:
    """Payments received from the 1st of the month through `as_of`, of the replayed loans (a
    stepped loan received nothing today: it carries yesterday's figure)."""
    if ids is not None and not ids:
        return
    paid = (
        select(Payment.loan_id, func.sum(Payment.amount_minor).label("amount"))
        .where(Payment.received_on.between(as_of.replace(day=1), as_of))
        .group_by(Payment.loan_id)
    )
    if ids is not None:
        paid = paid.where(Payment.loan_id.in_(ids))
    sub = paid.subquery()
    session.execute(
        update(PortfolioSnapshot)
        .where(PortfolioSnapshot.as_of == as_of, PortfolioSnapshot.loan_id == sub.c.loan_id)
        .values(paid_month_minor=sub.c.amount)
    )


def _promises(session: Session, as_of: date) -> None:
    """A promise to pay open at the day's close: made by then, not yet kept or broken."""
    open_then = select(Promise.loan_id).where(
        Promise.created_on <= as_of,
        (Promise.resolved_on.is_(None)) | (Promise.resolved_on > as_of),
    )
    session.execute(
        update(PortfolioSnapshot)
        .where(PortfolioSnapshot.as_of == as_of, PortfolioSnapshot.loan_id.in_(open_then))
        .values(promise_open=True)
    )


def _contacts(
    session: Session, as_of: date, timezone: str, *, stepped: bool, ids: Sequence[int] | None
) -> None:
    """The last day the borrower wrote, and the last day the lender did (the bot's or a
    collector's message): of the day's messages for stepped loans, carried from yesterday,
    and of every message up to the close for replayed ones."""
    zone = ZoneInfo(timezone)
    end = datetime.combine(as_of + timedelta(days=1), clock(), zone).astimezone(UTC)
    start = datetime.combine(as_of, clock(), zone).astimezone(UTC)
    latest: dict[tuple[int, str], datetime] = {}
    spans: list[tuple[datetime | None, Sequence[int] | None]] = []
    if stepped:
        spans.append((start, None))
        if ids:
            spans.append((None, ids))
    else:
        spans.append((None, None))
    for since, only in spans:
        who = (Message.sender == "borrower").label("borrower")
        q = (
            select(Loan.id, who, func.max(Message.sent_at))
            .join(
                PortfolioSnapshot,
                (PortfolioSnapshot.loan_id == Loan.id) & (PortfolioSnapshot.as_of == as_of),
            )
            .join(Conversation, Conversation.borrower_id == Loan.borrower_id)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.sent_at < end, Message.sender != "system")
            .group_by(Loan.id, who)
        )
        if since is not None:
            q = q.where(Message.sent_at >= since)
        if only is not None:
            q = q.where(Loan.id.in_(only))
        for loan_id, borrower, sent in session.execute(q):
            key = (loan_id, "last_reply_on" if borrower else "last_contact_on")
            at = sent if sent.tzinfo else sent.replace(tzinfo=UTC)  # SQLite: naive UTC
            latest[key] = max(latest.get(key, at), at)
    for column in ("last_reply_on", "last_contact_on"):
        changes = [
            {"as_of": as_of, "loan_id": loan_id, column: at.astimezone(zone).date()}
            for (loan_id, col), at in latest.items()
            if col == column
        ]
        if changes:
            session.execute(update(PortfolioSnapshot), changes)  # by primary key, in bulk
