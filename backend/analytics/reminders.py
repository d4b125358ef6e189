"""Reminders: sent, held back by the compliance rules (by reason), opt-outs, and the
champion/challenger tests.

Days: a reminder is sent on the day of its `sent_at`. It is held when a compliance rule held
it back, deferred (even if it went later) or dropped, counted once by the first rule that did
(`held_by`) on the business day it was for (its occasion). An opt-out is
an opt_out case filed that day; each borrower (an unverified chat: each chat) counts once a
day, and once in the period's total.
Slice: the reminder's chat (the one it went to, else the chat its borrower most recently
verified in, as the sender picks it), its language else the borrower's; a reminder whose
borrower has no chat counts only when no channel is asked for. An opt-out by the chat it came
in on. Experiments: see `experiments`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, distinct, func, select
from sqlalchemy.orm import Session, aliased

from backend.analytics.figures import Experiment, ReminderDay, VariantFigures, newcombe, wilson
from backend.analytics.period import Period, sliced
from backend.borrowers.models import Borrower
from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.outreach.models import Reminder
from backend.outreach.policy import CHAMPION
from backend.outreach.results import SentReminder, responses


def _reminders(period: Period, *columns: object) -> Select:  # type: ignore[type-arg]
    """Reminders joined to their chat and borrower, filtered to the slice."""
    chat = aliased(Conversation)
    latest_chat = (
        select(Conversation.id)
        .where(
            Conversation.borrower_id == Reminder.borrower_id,
            Conversation.bound_at.is_not(None),
        )
        .order_by(Conversation.bound_at.desc(), Conversation.id.desc())
        .limit(1)
        .correlate(Reminder)
        .scalar_subquery()
    )
    query = (
        select(*columns)  # type: ignore[call-overload]
        .select_from(Reminder)
        .join(Borrower, Borrower.id == Reminder.borrower_id)
        .outerjoin(chat, chat.id == func.coalesce(Reminder.conversation_id, latest_chat))
    )
    return sliced(query, period.scope, conversation=chat, borrower=Borrower)


def reminder_days(session: Session, period: Period) -> tuple[list[ReminderDay], ReminderDay]:
    sent_on = (
        _reminders(period, period.day_of(Reminder.sent_at).label("day"))
        .where(Reminder.status == "sent", period.within(Reminder.sent_at))
        .subquery()
    )
    sent: dict[date, int] = dict(
        session.execute(select(sent_on.c.day, func.count()).group_by(sent_on.c.day)).all()
    )
    held_on = (
        _reminders(period, Reminder.occasion.label("day"), Reminder.held_by.label("reason"))
        .where(Reminder.held_by.is_not(None), period.dates(Reminder.occasion))
        .subquery()
    )
    held: dict[date, dict[str, int]] = defaultdict(dict)
    for day, reason, n in session.execute(
        select(held_on.c.day, held_on.c.reason, func.count()).group_by(
            held_on.c.day, held_on.c.reason
        )
    ):
        held[day][reason] = n
    opted = _opt_outs(period).subquery()
    opt_outs: dict[date, int] = dict(
        session.execute(
            select(opted.c.day, _who(opted.c.borrower_id, opted.c.conversation_id)).group_by(
                opted.c.day
            )
        ).all()
    )
    total_opt_outs = session.scalar(select(_who(opted.c.borrower_id, opted.c.conversation_id)))
    days = [
        ReminderDay(day, sent.get(day, 0), dict(sorted(held[day].items())), opt_outs.get(day, 0))
        for day in period.days
    ]
    held_total: dict[str, int] = defaultdict(int)
    for d in days:
        for reason, n in d.held.items():
            held_total[reason] += n
    total = ReminderDay(
        None, sum(d.sent for d in days), dict(sorted(held_total.items())), total_opt_outs or 0
    )
    return days, total


def _opt_outs(period: Period) -> Select:  # type: ignore[type-arg]
    """Opt-out cases filed in the period: day, borrower (None: unverified chat), chat."""
    query = (
        select(
            period.day_of(Case.created_at).label("day"),
            func.coalesce(Case.borrower_id, Conversation.borrower_id).label("borrower_id"),
            Case.conversation_id.label("conversation_id"),
        )
        .join(Conversation, Conversation.id == Case.conversation_id)
        .outerjoin(
            Borrower, Borrower.id == func.coalesce(Case.borrower_id, Conversation.borrower_id)
        )
        .where(Case.kind == "opt_out", period.within(Case.created_at))
    )
    return sliced(query, period.scope, conversation=Conversation, borrower=Borrower)


def _who(borrower_id: ColumnElement[int], conversation_id: ColumnElement[int]) -> ColumnElement:  # type: ignore[type-arg]
    """Distinct borrowers, plus distinct chats not yet verified as anyone."""
    return func.count(distinct(borrower_id)) + func.count(
        distinct(case((borrower_id.is_(None), conversation_id)))
    )


def experiments(session: Session, period: Period, *, results_days: int) -> list[Experiment]:
    """For each step whose reminders sent in the period (in the slice) include the champion
    and another variant: that challenger against the champion (one Experiment per challenger).
    Converted: a payment on the loan, or a promise made on it, within `results_days` after the
    reminder was sent (the outreach results' rule, with the send's date in the business time
    zone); the window may run past the period's end."""
    query = _reminders(
        period,
        Reminder.step_id,
        Reminder.variant,
        Reminder.loan_id,
        Reminder.conversation_id,
        Reminder.sent_at,
    ).where(Reminder.status == "sent", period.within(Reminder.sent_at))
    sent = [
        SentReminder(step, variant, loan, chat, at)
        for step, variant, loan, chat, at in session.execute(query)
    ]
    found = responses(session, sent, days=results_days, zone=ZoneInfo(period.scope.timezone))
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r, response in zip(sent, found, strict=True):
        counts = tally[r.step_id][r.variant]
        counts[0] += 1
        counts[1] += response.paid or response.promised
    tests = []
    for step_id, variants in sorted(tally.items()):
        if CHAMPION not in variants:
            continue
        champion = figures_of(step_id, CHAMPION, *variants[CHAMPION])
        for name, (n, converted) in sorted(variants.items()):
            if name == CHAMPION:
                continue
            tests.append(
                Experiment(
                    step_id,
                    champion,
                    figures_of(step_id, name, n, converted),
                    newcombe(converted, n, champion.converted, champion.sent),
                )
            )
    return tests


def figures_of(step_id: str, variant: str, sent: int, converted: int) -> VariantFigures:
    return VariantFigures(step_id, variant, sent, converted, wilson(converted, sent))
