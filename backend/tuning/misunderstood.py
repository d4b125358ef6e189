"""The misunderstood-message inbox: borrower messages the assistant fell back on, read with
low confidence, or that were followed within moments by a handoff or by the borrower saying
it again another way. Read-only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.models import Handoff
from backend.conversations.messages import Message
from backend.tuning.masking import training_text
from backend.tuning.models import MessageLabel

FALLBACK = "nlu_fallback"
SOON = timedelta(minutes=2)  # a handoff or a rephrase this soon after says it was not understood
WHY = ("fallback", "low_confidence", "handoff", "rephrase")


@dataclass(frozen=True, slots=True)
class Misunderstood:
    message_id: int
    conversation_id: int
    text: str  # as it would be written to the training data: one line, masked
    intent: str | None
    confidence: float | None
    sent_at: datetime
    why: tuple[str, ...]  # of WHY
    label: str | None  # the intent operations gave it


def misunderstood(
    session: Session, *, threshold: float, search: str = "", since: datetime, limit: int = 1000
) -> list[Misunderstood]:
    """Newest first. `threshold`: below this confidence a reading counts as low (the
    assistant's own fallback threshold is the natural choice)."""
    query = (
        select(Message)
        .where(Message.sender == "borrower", Message.intent.is_not(None), Message.sent_at >= since)
        .order_by(Message.conversation_id, Message.sent_at, Message.id)
    )
    if search.strip():
        query = query.where(Message.text.contains(search.strip()))
    messages = list(session.scalars(query))
    handoffs: dict[int, list[datetime]] = defaultdict(list)
    chats = {m.conversation_id for m in messages}
    for chat, at in session.execute(
        select(Handoff.conversation_id, Handoff.created_at).where(
            Handoff.conversation_id.in_(chats), Handoff.created_at >= since
        )
    ):
        handoffs[chat].append(at)
    labels = dict(
        session.execute(
            select(MessageLabel.message_id, MessageLabel.intent).where(
                MessageLabel.message_id.in_([m.id for m in messages])
            )
        ).all()
    )
    found = []
    for i, m in enumerate(messages):
        nxt = messages[i + 1] if i + 1 < len(messages) else None
        why = _why(m, nxt, handoffs[m.conversation_id], threshold)
        if why:
            found.append(
                Misunderstood(
                    m.id,
                    m.conversation_id,
                    training_text(m.text),
                    m.intent,
                    m.confidence,
                    m.sent_at,
                    why,
                    labels.get(m.id),
                )
            )
    found.sort(key=lambda r: (r.sent_at, r.message_id), reverse=True)
    return found[:limit]


def _why(
    m: Message, nxt: Message | None, handoffs: list[datetime], threshold: float
) -> tuple[str, ...]:
    reasons = []
    if m.intent == FALLBACK:
        reasons.append("fallback")
    elif m.confidence is not None and m.confidence < threshold:
        reasons.append("low_confidence")
    if any(m.sent_at <= at <= m.sent_at + SOON for at in handoffs):
        reasons.append("handoff")
    rephrased = (
        nxt is not None
        and nxt.conversation_id == m.conversation_id
        and nxt.sent_at - m.sent_at <= SOON
        and nxt.intent not in (None, m.intent)
        and (nxt.confidence or 0) > (m.confidence or 0)
    )
    if rephrased:
        reasons.append("rephrase")
    return tuple(reasons)


def by_intent(rows: list[Misunderstood]) -> list[tuple[str, list[Misunderstood]]]:
    """Grouped by what the assistant thought it was, largest group first."""
    groups: dict[str, list[Misunderstood]] = defaultdict(list)
    for row in rows:
        groups[row.intent or "?"].append(row)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
