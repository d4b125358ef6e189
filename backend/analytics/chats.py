"""Chats: conversations the borrower wrote in, how many the bot kept to itself (contained)
and how many it handed to a person, and how long those waited to be taken.

Slice: the conversation's channel and its language (else its borrower's). Contained and
handed off follow Conversation review: a conversation is handed off when a handoff was
requested in it (that day, or for the period's total in the period). Waits are those of every
handoff requested that day in a conversation of the slice and taken since."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Subquery, case, distinct, func, select
from sqlalchemy.orm import Session

from backend.analytics.figures import ChatDay
from backend.analytics.period import Period, sliced
from backend.borrowers.models import Borrower
from backend.cases.models import Handoff
from backend.conversations.messages import Message
from backend.conversations.models import Conversation


def active(period: Period) -> Subquery:
    """(day, conversation_id): each conversation of the slice with a borrower message on a day
    of the period, once per day."""
    query = (
        select(
            period.day_of(Message.sent_at).label("day"),
            Message.conversation_id.label("conversation_id"),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
        .where(Message.sender == "borrower", period.within(Message.sent_at))
        .distinct()
    )
    return sliced(query, period.scope, conversation=Conversation, borrower=Borrower).subquery()


def chat_days(session: Session, period: Period) -> tuple[list[ChatDay], ChatDay]:
    chats = active(period)
    handed = (
        select(
            period.day_of(Handoff.created_at).label("day"),
            Handoff.conversation_id.label("conversation_id"),
        )
        .where(period.within(Handoff.created_at))
        .distinct()
        .subquery()
    )
    per_day = {
        day: (n, handed_off)
        for day, n, handed_off in session.execute(
            select(chats.c.day, func.count(), func.count(handed.c.conversation_id))
            .select_from(chats)
            .outerjoin(
                handed,
                (handed.c.day == chats.c.day)
                & (handed.c.conversation_id == chats.c.conversation_id),
            )
            .group_by(chats.c.day)
        )
    }
    in_period = select(Handoff.conversation_id).where(period.within(Handoff.created_at))
    n, handed_off = session.execute(
        select(
            func.count(distinct(chats.c.conversation_id)),
            func.count(
                distinct(
                    case(
                        (chats.c.conversation_id.in_(in_period), chats.c.conversation_id),
                    )
                )
            ),
        )
    ).one()
    waits = _waits(session, period)
    days = []
    for day in period.days:
        count, handed_that_day = per_day.get(day, (0, 0))
        days.append(_chat_day(day, count, handed_that_day, waits.get(day, [])))
    every_wait = [w for day in period.days for w in waits.get(day, [])]
    return days, _chat_day(None, n, handed_off, every_wait)


def _chat_day(day: date | None, n: int, handed_off: int, waits: list[float]) -> ChatDay:
    return ChatDay(
        day, n, n - handed_off, handed_off, percentile(waits, 0.5), percentile(waits, 0.9)
    )


def _waits(session: Session, period: Period) -> dict[date, list[float]]:
    """Seconds from request to take of the handoffs requested each day and taken: one short
    row per handoff, subtracted here since SQLite and PostgreSQL subtract times differently."""
    query = (
        select(period.day_of(Handoff.created_at), Handoff.created_at, Handoff.taken_at)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
        .where(period.within(Handoff.created_at), Handoff.taken_at.is_not(None))
    )
    query = sliced(query, period.scope, conversation=Conversation, borrower=Borrower)
    found: dict[date, list[float]] = defaultdict(list)
    for day, requested, taken in session.execute(query):
        if taken is not None:  # the query asks for taken ones only
            found[day].append((taken - requested).total_seconds())
    return found


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between the nearest ranks (PostgreSQL's
    percentile_cont); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
