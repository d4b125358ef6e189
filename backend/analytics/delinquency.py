"""Cures and rolls: loans past due on the period's first day, and their bucket on its last,
for borrowers who used the assistant in the period against those who did not.

Groups: "assistant" is the borrowers who wrote (a borrower message) in a chat of the slice
bound to them during the period; "others" is the borrowers who wrote in no chat at all in
the period, of the slice's language (their own) when one is asked for; a channel slice cannot
place someone who never wrote, so it leaves "others" whole. A loan's position on a day is its
statement as of that business date (`statements_of`)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from backend.analytics.figures import Transitions
from backend.analytics.period import Period, sliced
from backend.borrowers.models import Borrower
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.ledger.delinquency import Bucket
from backend.ledger.models import Arrangement, ArrangementInstallment, Installment, Loan
from backend.ledger.portfolio import statements_of

ASSISTANT, OTHERS = "assistant", "others"


def _bucket_order(then: str, now: str) -> tuple[int, int]:
    order = list(Bucket)
    return order.index(Bucket(then)), order.index(Bucket(now))


def transitions(session: Session, period: Period) -> list[Transitions]:
    scope = period.scope
    writers = (
        select(Conversation.borrower_id)
        .join(Message, Message.conversation_id == Conversation.id)
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
        .where(
            Message.sender == "borrower",
            period.within(Message.sent_at),
            Conversation.borrower_id.is_not(None),
        )
        .distinct()
    )
    anyone = set(session.scalars(writers))
    users = set(
        session.scalars(sliced(writers, scope, conversation=Conversation, borrower=Borrower))
    )
    # Only a loan with something due before the first day can be past due on it.
    due_before = union(
        select(Installment.loan_id).where(Installment.due_date < scope.start),
        select(Arrangement.loan_id)
        .join(ArrangementInstallment, ArrangementInstallment.arrangement_id == Arrangement.id)
        .where(ArrangementInstallment.due_date < scope.start),
    ).subquery()
    group: dict[int, str] = {}
    for loan_id, borrower_id, language in session.execute(
        select(Loan.id, Loan.borrower_id, Borrower.language)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .where(Loan.id.in_(select(due_before.c.loan_id)))
    ):
        if borrower_id in users:
            group[loan_id] = ASSISTANT
        elif borrower_id not in anyone and scope.language in (None, language):
            group[loan_id] = OTHERS
    then = {
        loan_id: st.bucket
        for loan_id, st in statements_of(session, list(group), scope.start)
        if st.bucket != Bucket.CURRENT
    }
    now = dict(statements_of(session, list(then), scope.end))
    rolls: dict[str, Counter[tuple[str, str]]] = {ASSISTANT: Counter(), OTHERS: Counter()}
    for loan_id, bucket in then.items():
        rolls[group[loan_id]][(bucket.value, now[loan_id].bucket.value)] += 1
    return [
        Transitions(
            name,
            sum(moves.values()),
            sum(n for (_, b), n in moves.items() if b == Bucket.CURRENT),
            dict(sorted(moves.items(), key=lambda move: _bucket_order(*move[0]))),
        )
        for name, moves in rolls.items()
    ]
