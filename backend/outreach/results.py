"""Champion/challenger results: for each step and variant, how many reminders were sent and
how many borrowers replied, paid or promised within the policy's window after one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

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


@dataclass(frozen=True, slots=True)
class SentReminder:
    step_id: str
    variant: str
    loan_id: int
    conversation_id: int | None
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Response:
    """What followed one reminder within the window."""

    replied: bool
    paid: bool
    promised: bool


def variant_results(
    session: Session, *, days: int, step_id: str | None = None
) -> list[VariantResult]:
    """Counted from the records: reminders sent, then messages, payments and promises. The
    window is `days` after each send (a reminder sent today counts what has happened so far)."""
    query = select(
        Reminder.step_id,
        Reminder.variant,
        Reminder.loan_id,
        Reminder.conversation_id,
        Reminder.sent_at,
    ).where(Reminder.status == "sent")
    if step_id is not None:
        query = query.where(Reminder.step_id == step_id)
    sent = [
        SentReminder(step, variant, loan, chat, at)
        for step, variant, loan, chat, at in session.execute(query)
        if at is not None  # always set once sent
    ]
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r, response in zip(sent, responses(session, sent, days=days), strict=True):
        counts = tally[(r.step_id, r.variant)]
        counts[0] += 1
        counts[1] += response.replied
        counts[2] += response.paid
        counts[3] += response.promised
    return [
        VariantResult(step, variant, *counts) for (step, variant), counts in sorted(tally.items())
    ]


def responses(
    session: Session, sent: Sequence[SentReminder], *, days: int, zone: tzinfo = UTC
) -> list[Response]:
    """For each reminder, in order: a borrower message in its chat, a payment on its loan (a
    business date, compared with the send's date in `zone`) or a promise made on its loan,
    within `days` after it was sent."""
    if not sent:
        return []
    window = timedelta(days=days)
    chats = {r.conversation_id for r in sent if r.conversation_id is not None}
    loans = {r.loan_id for r in sent}
    replies: dict[int, list[datetime]] = defaultdict(list)
    for part in _chunks(chats):
        for chat, at in session.execute(
            select(Message.conversation_id, Message.sent_at).where(
                Message.conversation_id.in_(part), Message.sender == "borrower"
            )
        ):
            replies[chat].append(at)
    payments: dict[int, list[date]] = defaultdict(list)
    promises: dict[int, list[datetime]] = defaultdict(list)
    for part in _chunks(loans):
        for loan, on in session.execute(
            select(Payment.loan_id, Payment.received_on).where(Payment.loan_id.in_(part))
        ):
            payments[loan].append(on)
        for loan, at in session.execute(
            select(Promise.loan_id, Promise.created_at).where(Promise.loan_id.in_(part))
        ):
            promises[loan].append(at)
    found = []
    for r in sent:
        start, end = r.sent_at, r.sent_at + window
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        found.append(
            Response(
                replied=any(start < at <= end for at in replies.get(r.conversation_id or -1, [])),
                paid=any(first <= on <= last for on in payments.get(r.loan_id, [])),
                promised=any(start < at <= end for at in promises.get(r.loan_id, [])),
            )
        )
    return found


CHUNK = 5_000  # ids per IN list: under SQLite's and PostgreSQL's bound-parameter limits


def _chunks(ids: set[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]
