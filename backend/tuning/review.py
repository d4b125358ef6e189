"""Conversation review: conversations filtered by what came of them (contained by the bot,
handed to a person, a promise taken, a payment soon after), by an intent heard in them, by
language and by date. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.cases.models import Handoff
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.ledger.models import Loan, Payment
from backend.promises.models import Promise

OUTCOMES = ("contained", "handed_off", "promise", "paid")
PAID_WITHIN = timedelta(days=7)  # a payment this soon after the chat began counts for it


@dataclass(frozen=True, slots=True)
class ReviewRow:
    conversation_id: int
    channel: str
    language: str | None
    borrower_ref: str | None
    started: datetime
    last: datetime
    messages: int
    outcomes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReviewFilter:
    outcome: str | None = None  # one of OUTCOMES
    intent: str | None = None  # a borrower message in it was read as this
    language: str | None = None
    since: date | None = None  # last message on or after (business time zone)
    until: date | None = None  # first message on or before


def review(
    session: Session, *, where: ReviewFilter, timezone: str, limit: int = 200
) -> list[ReviewRow]:
    """Newest first (by last message)."""
    zone = ZoneInfo(timezone)
    stats = (
        select(
            Message.conversation_id.label("cid"),
            func.min(Message.sent_at).label("started"),
            func.max(Message.sent_at).label("last"),
            func.count(Message.id).label("n"),
        )
        .group_by(Message.conversation_id)
        .subquery()
    )
    handed = exists().where(Handoff.conversation_id == Conversation.id)
    promised = exists().where(Promise.conversation_id == Conversation.id)
    language = func.coalesce(Conversation.language, Borrower.language)
    query = (
        select(Conversation, stats.c.started, stats.c.last, stats.c.n, Borrower.ref, language)
        .join(stats, stats.c.cid == Conversation.id)
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
    )
    if where.language:
        query = query.where(language == where.language)
    if where.intent:
        query = query.where(
            exists().where(
                and_(Message.conversation_id == Conversation.id, Message.intent == where.intent)
            )
        )
    if where.since:
        query = query.where(stats.c.last >= datetime.combine(where.since, time(0), zone))
    if where.until:
        end = datetime.combine(where.until + timedelta(days=1), time(0), zone)
        query = query.where(stats.c.started < end)
    if where.outcome == "handed_off":
        query = query.where(handed)
    elif where.outcome == "contained":
        query = query.where(~handed)
    elif where.outcome == "promise":
        query = query.where(promised)
    rows = session.execute(query.order_by(stats.c.last.desc()).limit(limit * 4)).all()
    handed_ids = set(
        session.scalars(
            select(Handoff.conversation_id).where(
                Handoff.conversation_id.in_([r[0].id for r in rows])
            )
        )
    )
    promise_ids = set(
        session.scalars(
            select(Promise.conversation_id).where(
                Promise.conversation_id.in_([r[0].id for r in rows])
            )
        )
    )
    paid = _paid_after(session, [(r[0].borrower_id, r[1]) for r in rows])
    found = []
    for conversation, started, last, count, ref, lang in rows:
        outcomes = ["handed_off" if conversation.id in handed_ids else "contained"]
        if conversation.id in promise_ids:
            outcomes.append("promise")
        if (conversation.borrower_id, started) in paid:
            outcomes.append("paid")
        if where.outcome == "paid" and "paid" not in outcomes:
            continue
        found.append(
            ReviewRow(
                conversation.id, conversation.channel, lang, ref, started, last, count,
                tuple(outcomes),
            )
        )  # fmt: skip
    return found[:limit]


def _paid_after(
    session: Session, chats: list[tuple[int | None, datetime]]
) -> set[tuple[int | None, datetime]]:
    """(borrower, chat start) pairs followed by a payment on that borrower's loans within
    PAID_WITHIN of the start."""
    borrowers = {b for b, _ in chats if b is not None}
    if not borrowers:
        return set()
    payments: dict[int, list[date]] = {}
    for borrower_id, on in session.execute(
        select(Loan.borrower_id, Payment.received_on)
        .join(Loan, Loan.id == Payment.loan_id)
        .where(Loan.borrower_id.in_(borrowers))
    ):
        payments.setdefault(borrower_id, []).append(on)
    return {
        (b, start)
        for b, start in chats
        if b is not None
        and any(start.date() <= on <= (start + PAID_WITHIN).date() for on in payments.get(b, []))
    }
