"""Promises to pay: chats in which one was taken, promises falling due and kept, and the
amounts promised and paid towards them.

Days: a promise is made on its `created_on` and falls due on its `promised_date` (both
business dates already). Slice: the conversation the promise was made in (its channel; its
language, else the loan's borrower's); a promise made outside any chat counts only when no
channel is asked for."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import Session, aliased

from backend.analytics.chats import active
from backend.analytics.figures import Amounts, PromiseDay
from backend.analytics.period import Period, sliced
from backend.borrowers.models import Borrower
from backend.conversations.models import Conversation
from backend.ledger.models import Loan
from backend.promises.models import Promise

KEPT = "kept"
UNDECIDED = "open"


def _promises(period: Period, *columns: object) -> Select:  # type: ignore[type-arg]
    """Promises joined to what they are sliced by, filtered to the slice."""
    chat, borrower = aliased(Conversation), aliased(Borrower)
    query = (
        select(*columns)  # type: ignore[call-overload]
        .select_from(Promise)
        .join(Loan, Loan.id == Promise.loan_id)
        .join(borrower, borrower.id == Loan.borrower_id)
        .outerjoin(chat, chat.id == Promise.conversation_id)
    )
    return sliced(query, period.scope, conversation=chat, borrower=borrower)


def promise_days(session: Session, period: Period) -> tuple[list[PromiseDay], PromiseDay]:
    chats = active(period)
    taken = (
        select(Promise.created_on.label("day"), Promise.conversation_id.label("conversation_id"))
        .where(period.dates(Promise.created_on), Promise.conversation_id.is_not(None))
        .distinct()
        .subquery()
    )
    conversations: dict[date, tuple[int, int]] = {
        day: (n, promised)
        for day, n, promised in session.execute(
            select(chats.c.day, func.count(), func.count(taken.c.conversation_id))
            .select_from(chats)
            .outerjoin(
                taken,
                (taken.c.day == chats.c.day) & (taken.c.conversation_id == chats.c.conversation_id),
            )
            .group_by(chats.c.day)
        )
    }
    in_period = select(Promise.conversation_id).where(period.dates(Promise.created_on))
    n, promised = session.execute(
        select(
            func.count(distinct(chats.c.conversation_id)),
            func.count(
                distinct(case((chats.c.conversation_id.in_(in_period), chats.c.conversation_id)))
            ),
        )
    ).one()
    kept = func.sum(case((Promise.status == KEPT, 1), else_=0))
    decided = {
        day: (due, k)
        for day, due, k in session.execute(
            _promises(period, Promise.promised_date, func.count(), kept)
            .where(period.dates(Promise.promised_date), Promise.status != UNDECIDED)
            .group_by(Promise.promised_date)
        )
    }
    days = []
    for day in period.days:
        chats_that_day, with_promise = conversations.get(day, (0, 0))
        due, kept_that_day = decided.get(day, (0, 0))
        days.append(PromiseDay(day, chats_that_day, with_promise, due, kept_that_day))
    total = PromiseDay(
        None,
        n,
        promised,
        sum(d.due for d in days),  # a promise falls due on one day only
        sum(d.kept for d in days),
    )
    return days, total


def amounts(session: Session, period: Period) -> list[Amounts]:
    """Per currency, the promises made in the period: promised, and paid towards them so far."""
    query = (
        _promises(
            period, Promise.currency, func.sum(Promise.amount_minor), func.sum(Promise.paid_minor)
        )
        .where(period.dates(Promise.created_on))
        .group_by(Promise.currency)
        .order_by(Promise.currency)
    )
    return [
        Amounts(currency, int(promised), int(paid))
        for currency, promised, paid in session.execute(query)
    ]
