"""The Warnings page's rows: the loans the early warning flagged on a snapshot day, with that
day's snapshot figures and what was done for them since (reminders, promises, handoffs, cases).

Read-only, and a fixed number of queries whatever the number of rows: the list is one query,
and what each loan's row needs besides comes in one IN query per kind."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, ColumnElement, Exists, and_, func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias

from backend.borrowers.models import Borrower
from backend.cases.models import Case, Handoff
from backend.console.amounts import Amount
from backend.early_warning.models import LoanWarning
from backend.early_warning.policy import RULES
from backend.ledger.models import Loan
from backend.outreach.models import Reminder
from backend.portfolio.models import PortfolioSnapshot
from backend.promises.models import Promise

SHOWN = 500  # rows on the page; the note says how many matched
DAYS_OFFERED = 90  # the most recent snapshot days with warnings, for the day select
# The filter's order: early warning's own (config/monitoring.yml's default priority); a code
# the console does not know comes after these, by name.
SIGNALS = tuple(RULES)


@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    figures: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReminderDone:
    step_id: str
    occasion: date
    state: str  # planned | deferred | sent | dropped
    reason: str | None  # why deferred or dropped


@dataclass(frozen=True, slots=True)
class PromiseDone:
    created_on: date
    amount: Amount
    promised_date: date
    status: str


@dataclass(frozen=True, slots=True)
class HandoffDone:
    id: int
    reason: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CaseDone:
    id: int
    kind: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LastChat:
    """The borrower's latest handoff: where a supervisor reads the chat and acts on the loan."""

    handoff_id: int
    conversation_id: int


@dataclass(frozen=True, slots=True)
class WarningRow:
    borrower_id: int  # for the page's audit entries
    loan_ref: str
    borrower_ref: str
    borrower_name: str
    currency: str
    severity: int
    signals: tuple[Signal, ...]  # the top one first
    # The snapshot of the warning's day (None: the loan has no row that day).
    bucket: str | None
    dpd: int | None
    total: Amount | None
    overdue: Amount | None
    reminders: tuple[ReminderDone, ...] = ()
    promises: tuple[PromiseDone, ...] = ()
    handoffs: tuple[HandoffDone, ...] = ()
    cases: tuple[CaseDone, ...] = ()
    last_chat: LastChat | None = None

    @property
    def nothing_done(self) -> bool:
        return not (self.reminders or self.promises or self.handoffs or self.cases)


@dataclass(frozen=True, slots=True)
class Warnings:
    day: date | None  # None: no warning on any day yet
    days: tuple[date, ...]  # recent days with warnings, newest first
    signal: str  # the filter ("" for every signal)
    counts: tuple[tuple[str, int], ...]  # loans per signal on the day, in SIGNALS order
    flagged: int  # loans flagged on the day
    matching: int  # of those, with the signal asked
    rows: tuple[WarningRow, ...]

    @property
    def truncated(self) -> bool:
        return self.matching > len(self.rows)


def _elements(session: Session) -> TableValuedAlias:
    """A warning's signals as rows: SQLite's json_each, PostgreSQL's json_array_elements."""
    if session.get_bind().dialect.name == "postgresql":
        each = func.json_array_elements(LoanWarning.signals)
    else:
        each = func.json_each(LoanWarning.signals)
    return each.table_valued("value", joins_implicitly=True)


def _code(elements: TableValuedAlias) -> ColumnElement[str]:
    code: ColumnElement[str] = type_coerce(elements.c.value, JSON)["code"].as_string()
    return code


def _has_signal(session: Session, code: str) -> Exists:
    elements = _elements(session)
    return select(1).select_from(elements).where(_code(elements) == code).exists()


def _ordered(codes: Iterable[str]) -> list[str]:
    known = [c for c in SIGNALS if c in codes]
    return known + sorted(set(codes) - set(SIGNALS))


def load(session: Session, *, day: date | None, signal: str, zone: str) -> Warnings:
    """The warnings of `day` (the latest day with any by default), with `signal` among their
    signals when one is asked."""
    days = tuple(
        session.scalars(
            select(LoanWarning.as_of)
            .group_by(LoanWarning.as_of)
            .order_by(LoanWarning.as_of.desc())
            .limit(DAYS_OFFERED)
        )
    )
    day = day or (days[0] if days else None)
    if day is None:
        return Warnings(None, (), signal, (), 0, 0, ())

    elements = _elements(session)
    code = _code(elements)
    per_signal: dict[str, int] = {
        found: n
        for found, n in session.execute(
            select(code, func.count(LoanWarning.loan_id.distinct()))
            .select_from(LoanWarning, elements)
            .where(LoanWarning.as_of == day)
            .group_by(code)
        )
    }
    counts = tuple((c, per_signal[c]) for c in _ordered(per_signal))
    flagged = session.scalar(select(func.count()).where(LoanWarning.as_of == day)) or 0

    where: list[ColumnElement[bool]] = [LoanWarning.as_of == day]
    if signal:
        where.append(_has_signal(session, signal))
    found = session.execute(
        select(
            LoanWarning.loan_id,
            LoanWarning.borrower_id,
            LoanWarning.signals,
            LoanWarning.top,
            LoanWarning.severity,
            Loan.ref.label("loan_ref"),
            Loan.currency,
            Borrower.ref.label("borrower_ref"),
            Borrower.full_name,
            PortfolioSnapshot.bucket,
            PortfolioSnapshot.dpd,
            PortfolioSnapshot.total_minor,
            PortfolioSnapshot.overdue_minor,
        )
        .join(Loan, Loan.id == LoanWarning.loan_id)
        .join(Borrower, Borrower.id == LoanWarning.borrower_id)
        .outerjoin(
            PortfolioSnapshot,
            and_(
                PortfolioSnapshot.as_of == LoanWarning.as_of,
                PortfolioSnapshot.loan_id == LoanWarning.loan_id,
            ),
        )
        .where(*where)
        .order_by(
            LoanWarning.severity.desc(),
            func.coalesce(PortfolioSnapshot.dpd, -1).desc(),  # no snapshot row: last
            Loan.ref,
        )
        .limit(SHOWN)
    ).all()

    loan_ids = [r.loan_id for r in found]
    borrower_ids = sorted({r.borrower_id for r in found})
    since = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))  # the day's start, locally
    done = _Done.read(session, loan_ids, borrower_ids, day=day, since=since)
    rows = tuple(
        WarningRow(
            borrower_id=r.borrower_id,
            loan_ref=r.loan_ref,
            borrower_ref=r.borrower_ref,
            borrower_name=r.full_name,
            currency=r.currency,
            severity=r.severity,
            signals=_signals(r.signals, r.top),
            bucket=r.bucket,
            dpd=r.dpd,
            total=None if r.total_minor is None else Amount(r.total_minor, r.currency),
            overdue=None if r.overdue_minor is None else Amount(r.overdue_minor, r.currency),
            reminders=tuple(done.reminders[r.loan_id]),
            promises=tuple(done.promises[r.loan_id]),
            handoffs=tuple(done.handoffs[r.borrower_id]),
            # A case on no loan (an opt-out, distress) is about each of the borrower's loans.
            cases=tuple(c for loan, c in done.cases[r.borrower_id] if loan in (None, r.loan_id)),
            last_chat=done.last_chat.get(r.borrower_id),
        )
        for r in found
    )
    matching = per_signal.get(signal, 0) if signal else flagged
    return Warnings(day, days, signal, counts, flagged, matching, rows)


def _signals(stored: Any, top: str) -> tuple[Signal, ...]:
    """The stored list as signals, the top one first; an entry that is not a signal is left out
    (the column is JSON: the page never trusts its shape)."""
    signals = []
    for entry in stored if isinstance(stored, list) else []:
        if isinstance(entry, dict) and "code" in entry:
            figures = entry.get("figures")
            signals.append(Signal(str(entry["code"]), figures if isinstance(figures, dict) else {}))
    return tuple(sorted(signals, key=lambda s: s.code != top))  # stable: the rest keep order


@dataclass
class _Done:
    """What was done since the flag, per loan (reminders, promises) or borrower (handoffs,
    cases: a chat is the borrower's), read with one query each."""

    reminders: defaultdict[int, list[ReminderDone]]
    promises: defaultdict[int, list[PromiseDone]]
    handoffs: defaultdict[int, list[HandoffDone]]
    cases: defaultdict[int, list[tuple[int | None, CaseDone]]]
    last_chat: dict[int, LastChat]

    @classmethod
    def read(
        cls,
        session: Session,
        loan_ids: list[int],
        borrower_ids: list[int],
        *,
        day: date,
        since: datetime,
    ) -> _Done:
        done = cls(defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list), {})
        if not loan_ids:
            return done
        for rem in session.execute(
            select(
                Reminder.loan_id,
                Reminder.step_id,
                Reminder.occasion,
                Reminder.status,
                Reminder.reason,
            )
            .where(Reminder.loan_id.in_(loan_ids), Reminder.occasion >= day)
            .order_by(Reminder.occasion, Reminder.id)
        ):
            # A planned reminder with a reason waits for a rule: deferred, as the dashboard says.
            state = "deferred" if rem.status == "planned" and rem.reason else rem.status
            done.reminders[rem.loan_id].append(
                ReminderDone(rem.step_id, rem.occasion, state, rem.reason)
            )
        for p in session.execute(
            select(
                Promise.loan_id,
                Promise.created_on,
                Promise.amount_minor,
                Promise.currency,
                Promise.promised_date,
                Promise.status,
            )
            .where(Promise.loan_id.in_(loan_ids), Promise.created_on >= day)
            .order_by(Promise.created_on, Promise.id)
        ):
            done.promises[p.loan_id].append(
                PromiseDone(
                    p.created_on, Amount(p.amount_minor, p.currency), p.promised_date, p.status
                )
            )
        for h in session.execute(
            select(
                Handoff.borrower_id, Handoff.id, Handoff.reason, Handoff.status, Handoff.created_at
            )
            .where(Handoff.borrower_id.in_(borrower_ids), Handoff.created_at >= since)
            .order_by(Handoff.created_at, Handoff.id)
        ):
            if h.borrower_id is not None:
                done.handoffs[h.borrower_id].append(
                    HandoffDone(h.id, h.reason, h.status, h.created_at)
                )
        for c in session.execute(
            select(Case.borrower_id, Case.loan_id, Case.id, Case.kind, Case.status, Case.created_at)
            .where(Case.borrower_id.in_(borrower_ids), Case.created_at >= since)
            .order_by(Case.created_at, Case.id)
        ):
            if c.borrower_id is not None:
                done.cases[c.borrower_id].append(
                    (c.loan_id, CaseDone(c.id, c.kind, c.status, c.created_at))
                )
        latest = (
            select(func.max(Handoff.id))
            .where(Handoff.borrower_id.in_(borrower_ids))
            .group_by(Handoff.borrower_id)
        )
        for last in session.execute(
            select(Handoff.borrower_id, Handoff.id, Handoff.conversation_id).where(
                Handoff.id.in_(latest)
            )
        ):
            if last.borrower_id is not None:
                done.last_chat[last.borrower_id] = LastChat(last.id, last.conversation_id)
        return done
