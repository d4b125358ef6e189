"""Champion/challenger results: for each step and variant, how many reminders were sent and
how many borrowers replied, paid or promised within the policy's window after one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.messages import Message
from backend.ledger.models import Payment
from backend.outreach.models import Reminder
from backend.promises.models import Promise


@dataclass(frozen=True, slots=True)
class VariantResult:
    step_id: str
    variant: str
    sent: int
    replied: int  # the borrower wrote in that chat within the window
    paid: int  # a payment on the loan was received within the window
    promised: int  # a promise to pay was made on the loan within the window

    def rate(self, outcome: int) -> float:
        return outcome / self.sent if self.sent else 0.0


def variant_results(
    session: Session, *, days: int, step_id: str | None = None
) -> list[VariantResult]:
    """Counted from the records: reminders sent, then messages, payments and promises. The
    window is `days` after each send (a reminder sent today counts what has happened so far)."""
    query = select(Reminder).where(Reminder.status == "sent")
    if step_id is not None:
        query = query.where(Reminder.step_id == step_id)
    sent = list(session.scalars(query))
    if not sent:
        return []
    window = timedelta(days=days)
    chats = {r.conversation_id for r in sent if r.conversation_id is not None}
    loans = {r.loan_id for r in sent}
    replies: dict[int, list[datetime]] = defaultdict(list)
    for chat, at in session.execute(
        select(Message.conversation_id, Message.sent_at).where(
            Message.conversation_id.in_(chats), Message.sender == "borrower"
        )
    ):
        replies[chat].append(at)
    payments: dict[int, list[date]] = defaultdict(list)
    for loan, on in session.execute(
        select(Payment.loan_id, Payment.received_on).where(Payment.loan_id.in_(loans))
    ):
        payments[loan].append(on)
    promises: dict[int, list[datetime]] = defaultdict(list)
    for loan, at in session.execute(
        select(Promise.loan_id, Promise.created_at).where(Promise.loan_id.in_(loans))
    ):
        promises[loan].append(at)
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in sent:
        assert r.sent_at is not None
        start, end = r.sent_at, r.sent_at + window
        counts = tally[(r.step_id, r.variant)]
        counts[0] += 1
        chat_replies = replies.get(r.conversation_id or -1, [])
        counts[1] += any(start < at <= end for at in chat_replies)
        counts[2] += any(start.date() <= on <= end.date() for on in payments.get(r.loan_id, []))
        counts[3] += any(start < at <= end for at in promises.get(r.loan_id, []))
    return [
        VariantResult(step, variant, *counts) for (step, variant), counts in sorted(tally.items())
    ]
