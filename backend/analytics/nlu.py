"""What the NLU read: borrower messages it parsed, how many it fell back on, and the readings
operations corrected by labelling.

A fallback is as in the misunderstood-message inbox: intent nlu_fallback, or a confidence
below the threshold. Slice: the message's conversation (channel; language, else the
borrower's). Corrections: labelled messages sent in the period whose label differs from what
the NLU read (a label that agrees corrects nothing)."""

from __future__ import annotations

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from backend.analytics.figures import Correction, NluDay
from backend.analytics.period import Period, sliced
from backend.borrowers.models import Borrower
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.tuning.misunderstood import FALLBACK
from backend.tuning.models import MessageLabel

TOP_CORRECTIONS = 10


def _borrower_messages(period: Period, *columns: object) -> Select:  # type: ignore[type-arg]
    """Borrower messages of the period, in the slice."""
    query = (
        select(*columns)  # type: ignore[call-overload]
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
        .where(Message.sender == "borrower", period.within(Message.sent_at))
    )
    return sliced(query, period.scope, conversation=Conversation, borrower=Borrower)


def nlu_days(session: Session, period: Period, *, threshold: float) -> tuple[list[NluDay], NluDay]:
    fallback = case((or_(Message.intent == FALLBACK, Message.confidence < threshold), 1), else_=0)
    read = (
        _borrower_messages(
            period, period.day_of(Message.sent_at).label("day"), fallback.label("fallback")
        )
        .where(Message.intent.is_not(None))
        .subquery()
    )
    per_day = {
        day: (n, int(fallbacks or 0))
        for day, n, fallbacks in session.execute(
            select(read.c.day, func.count(), func.sum(read.c.fallback)).group_by(read.c.day)
        )
    }
    days = [NluDay(day, *per_day.get(day, (0, 0))) for day in period.days]
    total = NluDay(None, sum(d.messages for d in days), sum(d.fallbacks for d in days))
    return days, total


def corrections(session: Session, period: Period) -> list[Correction]:
    """Most frequent first (then by name), at most TOP_CORRECTIONS."""
    query = (
        _borrower_messages(period, Message.intent, MessageLabel.intent, func.count())
        .join(MessageLabel, MessageLabel.message_id == Message.id)
        .where(or_(Message.intent.is_(None), Message.intent != MessageLabel.intent))
        .group_by(Message.intent, MessageLabel.intent)
    )
    found = [
        Correction(predicted, labelled, n) for predicted, labelled, n in session.execute(query)
    ]
    found.sort(key=lambda c: (-c.count, c.predicted or "", c.labelled))
    return found[:TOP_CORRECTIONS]
