"""The facts early warning reads for a snapshot day, set-based: first the loans any signal
could fire for (past due or on a plan, past due at some point this month, or with an event in
a window), then, for those, a few grouped queries. Never the ledger's replay."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.early_warning.policy import MonitoringPolicy
from backend.early_warning.signals import LoanFacts
from backend.ledger.models import Installment, Loan, Payment
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder
from backend.portfolio.models import PortfolioSnapshot as Snap
from backend.portfolio.models import SnapshotRun
from backend.promises.models import Promise

CHUNK = 5000


class Window:
    """A signal's last `days` days up to the close of `as_of`, as dates and as UTC moments."""

    def __init__(self, as_of: date, days: int, zone: ZoneInfo) -> None:
        self.first = as_of - timedelta(days=days - 1)
        self.last = as_of
        self.start = datetime.combine(self.first, time(), zone).astimezone(UTC)
        self.end = datetime.combine(as_of + timedelta(days=1), time(), zone).astimezone(UTC)


def month_starts(as_of: date, months: int) -> list[date]:
    """The first days of the `months` calendar months ending with `as_of`'s, oldest first."""
    first = as_of.replace(day=1)
    starts = [first]
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        starts.append(first)
    return starts[::-1]


def loan_facts(
    session: Session, as_of: date, policy: MonitoringPolicy, *, timezone: str
) -> Iterator[LoanFacts]:
    zone = ZoneInfo(timezone)
    windows = {
        code: Window(as_of, rule.days, zone)
        for code, rule in policy.signals.items()
        if hasattr(rule, "days")
    }
    events = _events(session, as_of, windows, zone)
    ids = sorted(_candidates(session, as_of, policy, windows) | set(events["loans"]))
    for start in range(0, len(ids), CHUNK):
        yield from _facts(session, as_of, policy, windows, ids[start : start + CHUNK], events)


def _candidates(
    session: Session, as_of: date, policy: MonitoringPolicy, windows: dict[str, Window]
) -> set[int]:
    found = set(
        session.scalars(
            select(Snap.loan_id).where(
                Snap.as_of == as_of, (Snap.dpd > 0) | Snap.arrangement.is_not(None)
            )
        )
    )
    if policy.rule("paying_later"):
        found |= set(
            session.scalars(
                select(Snap.loan_id)
                .where(Snap.as_of.between(as_of.replace(day=1), as_of), Snap.dpd > 0)
                .distinct()
            )
        )
    if "promise_broken" in windows:
        w = windows["promise_broken"]
        found |= set(
            session.scalars(
                select(Promise.loan_id).where(
                    Promise.status == "broken", Promise.resolved_on.between(w.first, w.last)
                )
            )
        )
    if "unanswered" in windows:
        w = windows["unanswered"]
        found |= set(
            session.scalars(
                select(Reminder.loan_id).where(
                    Reminder.status == "sent", Reminder.sent_at >= w.start, Reminder.sent_at < w.end
                )
            )
        )
    return found


def _events(
    session: Session, as_of: date, windows: dict[str, Window], zone: ZoneInfo
) -> dict[str, Any]:
    """Borrower-level events (failed messages, opt-outs, contact changes) and their loans."""
    failed: dict[int, int] = {}
    if "messages_failing" in windows:
        w = windows["messages_failing"]
        failed = {
            borrower_id: count
            for borrower_id, count in session.execute(
                select(Conversation.borrower_id, func.count())
                .join(OutboundMessage, OutboundMessage.conversation_id == Conversation.id)
                .where(
                    OutboundMessage.status == "failed",
                    OutboundMessage.created_at >= w.start,
                    OutboundMessage.created_at < w.end,
                    Conversation.borrower_id.is_not(None),
                )
                .group_by(Conversation.borrower_id)
            )
            if borrower_id is not None
        }
    cases: dict[str, dict[int, date]] = {}
    for code, kind in (("opted_out", "opt_out"), ("contact_changed", "contact_update")):
        cases[code] = {}
        if code in windows:
            w = windows[code]
            for borrower_id, at in session.execute(
                select(Case.borrower_id, func.max(Case.created_at))
                .where(
                    Case.kind == kind,
                    Case.created_at >= w.start,
                    Case.created_at < w.end,
                    Case.borrower_id.is_not(None),
                )
                .group_by(Case.borrower_id)
            ):
                if borrower_id is None:
                    continue
                moment = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite: naive UTC
                cases[code][borrower_id] = moment.astimezone(zone).date()
    borrowers = set(failed) | set(cases["opted_out"]) | set(cases["contact_changed"])
    loans = (
        list(
            session.scalars(
                select(Snap.loan_id)
                .join(Loan, Loan.id == Snap.loan_id)
                .where(
                    Snap.as_of == as_of,
                    Snap.total_minor > 0,
                    Loan.borrower_id.in_(borrowers),
                )
            )
        )
        if borrowers
        else []
    )
    return {"failed": failed, **cases, "loans": loans}


def _facts(
    session: Session,
    as_of: date,
    policy: MonitoringPolicy,
    windows: dict[str, Window],
    ids: Sequence[int],
    events: dict[str, Any],
) -> Iterator[LoanFacts]:
    rows = session.execute(
        select(
            Snap.loan_id,
            Loan.borrower_id,
            Loan.currency,
            Snap.dpd,
            Snap.overdue_minor,
            Snap.total_minor,
            Snap.arrangement,
        )
        .join(Loan, Loan.id == Snap.loan_id)
        .where(Snap.as_of == as_of, Snap.loan_id.in_(ids), Snap.total_minor > 0)
        .order_by(Snap.loan_id)
    ).all()
    first_due = dict(
        session.execute(
            select(Installment.loan_id, Installment.due_date).where(
                Installment.loan_id.in_(ids), Installment.seq == 1
            )
        ).all()
    )
    paid = _paid(session, ids, windows.get("partial_payment"))
    worst = _worst_by_month(session, as_of, ids, policy)
    broken = _broken(session, ids, windows.get("promise_broken"))
    charges = _charges(session, as_of, ids, policy)
    unanswered = _unanswered(session, ids, windows.get("unanswered"))
    for r in rows:
        rise, before = charges.get(r.loan_id, (0, None))
        yield LoanFacts(
            loan_id=r.loan_id,
            borrower_id=r.borrower_id,
            currency=r.currency,
            as_of=as_of,
            dpd=r.dpd,
            overdue=r.overdue_minor,
            total=r.total_minor,
            arrangement=r.arrangement,
            first_due=first_due.get(r.loan_id),
            paid_recent=paid.get(r.loan_id, 0),
            months=worst(r.loan_id),
            broken_promise=broken.get(r.loan_id),
            charges_rise=rise,
            total_before=before,
            failed_messages=events["failed"].get(r.borrower_id, 0),
            unanswered_reminders=unanswered.get(r.loan_id, 0),
            opted_out_on=events["opted_out"].get(r.borrower_id),
            contact_changed_on=events["contact_changed"].get(r.borrower_id),
        )


def _paid(session: Session, ids: Sequence[int], w: Window | None) -> dict[int, int]:
    if w is None:
        return {}
    return {
        loan_id: int(amount)
        for loan_id, amount in session.execute(
            select(Payment.loan_id, func.sum(Payment.amount_minor))
            .where(Payment.loan_id.in_(ids), Payment.received_on.between(w.first, w.last))
            .group_by(Payment.loan_id)
        )
    }


def _worst_by_month(
    session: Session, as_of: date, ids: Sequence[int], policy: MonitoringPolicy
) -> Any:
    """Each loan's (worst DPD, amount received) in each of paying_later's months; () for every
    loan when a month has no snapshot at all (nothing to read a trend from)."""
    rule = policy.rule("paying_later")
    if rule is None:
        return lambda _: ()
    starts = month_starts(as_of, rule.months)
    taken = {
        (int(y), int(m))
        for y, m in session.execute(
            select(extract("year", SnapshotRun.as_of), extract("month", SnapshotRun.as_of))
            .where(SnapshotRun.as_of.between(starts[0], as_of))
            .distinct()
        )
    }
    months = [(s.year, s.month) for s in starts]
    if not set(months) <= taken:
        return lambda _: ()
    worst: dict[int, dict[tuple[int, int], tuple[int, int]]] = defaultdict(dict)
    year, month = extract("year", Snap.as_of), extract("month", Snap.as_of)
    for loan_id, y, m, dpd, paid in session.execute(
        select(Snap.loan_id, year, month, func.max(Snap.dpd), func.max(Snap.paid_month_minor))
        .where(Snap.loan_id.in_(ids), Snap.as_of.between(starts[0], as_of))
        .group_by(Snap.loan_id, year, month)
    ):
        worst[loan_id][(int(y), int(m))] = (dpd, paid)
    return lambda loan_id: tuple(worst[loan_id].get(ym, (0, 0)) for ym in months)


def _broken(session: Session, ids: Sequence[int], w: Window | None) -> dict[int, tuple[date, int]]:
    if w is None:
        return {}
    found: dict[int, tuple[date, int]] = {}
    for loan_id, promised, amount in session.execute(
        select(Promise.loan_id, Promise.promised_date, Promise.amount_minor)
        .where(
            Promise.loan_id.in_(ids),
            Promise.status == "broken",
            Promise.resolved_on.between(w.first, w.last),
        )
        .order_by(Promise.resolved_on, Promise.id)
    ):
        found[loan_id] = (promised, amount)  # the latest
    return found


def _charges(
    session: Session, as_of: date, ids: Sequence[int], policy: MonitoringPolicy
) -> dict[int, tuple[int, int]]:
    """(rise of fees and penalty, total then) since charges_jump's days ago, where that day's
    snapshot exists."""
    rule = policy.rule("charges_jump")
    if rule is None:
        return {}
    then = as_of - timedelta(days=rule.days)

    def charges(day: date) -> dict[int, tuple[int, int]]:
        return {
            loan_id: (fees + penalty, total)
            for loan_id, fees, penalty, total in session.execute(
                select(Snap.loan_id, Snap.fees_minor, Snap.penalty_minor, Snap.total_minor).where(
                    Snap.as_of == day, Snap.loan_id.in_(ids)
                )
            )
        }

    before = charges(then)
    return {
        loan_id: (now - before[loan_id][0], before[loan_id][1])
        for loan_id, (now, _) in charges(as_of).items()
        if loan_id in before
    }


def _unanswered(session: Session, ids: Sequence[int], w: Window | None) -> dict[int, int]:
    """Reminders sent in the window after the borrower last wrote (in any chat)."""
    if w is None:
        return {}
    last_wrote = (
        select(func.max(Message.sent_at))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.borrower_id == Reminder.borrower_id, Message.sender == "borrower")
        .scalar_subquery()
    )
    return dict(
        session.execute(
            select(Reminder.loan_id, func.count())
            .where(
                Reminder.loan_id.in_(ids),
                Reminder.status == "sent",
                Reminder.sent_at >= w.start,
                Reminder.sent_at < w.end,
                (last_wrote.is_(None)) | (Reminder.sent_at > last_wrote),
            )
            .group_by(Reminder.loan_id)
        ).all()
    )
