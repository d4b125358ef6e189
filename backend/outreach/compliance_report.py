"""The record a regulator reads: every decision on a proactive message in a period (sent, held,
dropped) with the profile and jurisdiction it was decided under and every rule it was checked
against with its verdict, and every opt-out with when it took effect; per borrower and in
total. Read by `python -m backend compliance report` and the console's Compliance page."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.ledger.models import Loan
from backend.outreach.models import Reminder, ReminderDecision

MAX_ROWS = 100_000  # one report; a longer period is asked for in parts


@dataclass(frozen=True, slots=True)
class DecisionRow:
    decided_at: datetime
    borrower_ref: str
    loan_ref: str
    step_id: str
    occasion: date
    action: str  # send | defer | drop
    reason: str | None
    not_before: datetime | None
    profile: str | None
    jurisdiction: str | None
    jurisdiction_source: str | None
    checks: dict[str, object]


@dataclass(frozen=True, slots=True)
class OptOutRow:
    at: datetime  # when it took effect: nothing proactive went to that channel after
    ended_at: datetime | None  # when the borrower opted back in, if they did
    borrower_ref: str | None  # None: a chat never linked to a borrower
    channel: str


@dataclass(slots=True)
class BorrowerTotals:
    sent: int = 0
    deferred: int = 0
    dropped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class Report:
    start: date
    end: date
    borrower_ref: str | None
    decisions: list[DecisionRow]
    opt_outs: list[OptOutRow]
    truncated: bool = False

    @property
    def per_borrower(self) -> dict[str, BorrowerTotals]:
        found: dict[str, BorrowerTotals] = {}
        for row in self.decisions:
            totals = found.setdefault(row.borrower_ref, BorrowerTotals())
            _count(totals, row)
        return dict(sorted(found.items()))

    @property
    def total(self) -> BorrowerTotals:
        totals = BorrowerTotals()
        for row in self.decisions:
            _count(totals, row)
        return totals


def _count(totals: BorrowerTotals, row: DecisionRow) -> None:
    if row.action == "send":
        totals.sent += 1
    elif row.action == "defer":
        totals.deferred += 1
    else:
        totals.dropped += 1
    if row.reason:
        totals.reasons[row.reason] += 1


def period_bounds(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """The instants a period of business days spans: from `start` 00:00 to the end of `end`."""
    tz = ZoneInfo(zone)
    return (
        datetime.combine(start, time(0), tz),
        datetime.combine(end + timedelta(days=1), time(0), tz),
    )


def build(
    session: Session,
    *,
    start: date,
    end: date,
    zone: str,
    borrower_ref: str | None = None,
    limit: int = MAX_ROWS,
) -> Report:
    """The decisions and opt-outs from `start` to `end` (business days, both included), of one
    borrower or all, oldest first."""
    since, until = period_bounds(start, end, zone)
    query = (
        select(ReminderDecision, Reminder, Borrower.ref, Loan.ref)
        .join(Reminder, ReminderDecision.reminder_id == Reminder.id)
        .join(Borrower, ReminderDecision.borrower_id == Borrower.id)
        .join(Loan, Reminder.loan_id == Loan.id)
        .where(ReminderDecision.decided_at >= since, ReminderDecision.decided_at < until)
        .order_by(ReminderDecision.decided_at, ReminderDecision.id)
        .limit(limit + 1)
    )
    if borrower_ref:
        query = query.where(Borrower.ref == borrower_ref)
    rows = session.execute(query).all()
    decisions = [
        DecisionRow(
            decided_at=d.decided_at,
            borrower_ref=b_ref,
            loan_ref=l_ref,
            step_id=r.step_id,
            occasion=r.occasion,
            action=d.action,
            reason=d.reason,
            not_before=d.not_before,
            profile=d.profile,
            jurisdiction=d.jurisdiction,
            jurisdiction_source=d.jurisdiction_source,
            checks=json.loads(d.checks or "{}"),
        )
        for d, r, b_ref, l_ref in rows[:limit]
    ]
    outs = (
        select(Case.created_at, Case.closed_at, Borrower.ref, Conversation.channel)
        .join(Conversation, Case.conversation_id == Conversation.id)
        .outerjoin(
            Borrower, Borrower.id == func.coalesce(Case.borrower_id, Conversation.borrower_id)
        )
        .where(Case.kind == "opt_out", Case.created_at >= since, Case.created_at < until)
        .order_by(Case.created_at, Case.id)
    )
    if borrower_ref:
        outs = outs.where(Borrower.ref == borrower_ref)
    opt_outs = [OptOutRow(*row) for row in session.execute(outs)]
    return Report(start, end, borrower_ref, decisions, opt_outs, truncated=len(rows) > limit)


CHECK_COLUMNS = (
    "local_time",
    "dpd",
    "hold",
    "validity",
    "valid_until",
    "day",
    "window",
    "preference",
    "daily_cap",
    "weekly_cap",
)
CSV_HEADER = (
    "decided_at_utc",
    "borrower",
    "loan",
    "step",
    "occasion",
    "action",
    "reason",
    "not_before_utc",
    "profile",
    "jurisdiction",
    "jurisdiction_source",
    *CHECK_COLUMNS,
)


def to_csv(report: Report) -> str:
    """One line per decision, then one per opt-out (action "opt_out", its channel under
    reason and when it ended, if it did, under not_before), UTC times."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in report.decisions:
        writer.writerow(
            [
                row.decided_at.isoformat(),
                row.borrower_ref,
                row.loan_ref,
                row.step_id,
                row.occasion.isoformat(),
                row.action,
                row.reason or "",
                row.not_before.isoformat() if row.not_before else "",
                row.profile or "",
                row.jurisdiction or "",
                row.jurisdiction_source or "",
                *(str(row.checks.get(c, "")) for c in CHECK_COLUMNS),
            ]
        )
    for out_row in report.opt_outs:
        ended = out_row.ended_at.isoformat() if out_row.ended_at else ""
        line = [out_row.at.isoformat(), out_row.borrower_ref or "", "", "", "", "opt_out"]
        line += [out_row.channel, ended, *([""] * (len(CSV_HEADER) - 8))]
        writer.writerow(line)
    return out.getvalue()


def to_text(report: Report) -> str:
    """The totals, per borrower and in all, and the opt-outs: what a person reads first."""
    who = f" for {report.borrower_ref}" if report.borrower_ref else ""
    lines = [f"Proactive messages {report.start} to {report.end}{who}"]
    if report.truncated:
        lines.append(
            f"(the first {len(report.decisions)} decisions only: ask for a shorter period)"
        )
    header = f"{'borrower':<16} {'sent':>6} {'deferred':>9} {'dropped':>8}  reasons"
    lines += ["", header, "-" * len(header)]
    for ref, totals in [*report.per_borrower.items(), ("TOTAL", report.total)]:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(totals.reasons.items()))
        lines.append(
            f"{ref:<16} {totals.sent:>6} {totals.deferred:>9} {totals.dropped:>8}  {reasons}"
        )
    lines += ["", f"Opt-outs: {len(report.opt_outs)}"]
    for row in report.opt_outs:
        ended = f", ended {row.ended_at:%Y-%m-%d %H:%M}" if row.ended_at else ""
        lines.append(
            f"  {row.at:%Y-%m-%d %H:%M} UTC  {row.borrower_ref or '(unlinked chat)'}  "
            f"{row.channel}{ended}"
        )
    return "\n".join(lines)
