"""The handoff queue as the console lists it: each chat waiting for (or with) a person, with
enough of the borrower's position beside it to choose which to take first.

Read-only: no writes and no audit here (the page that shows it audits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.cases import handoffs, rules
from backend.cases.models import Handoff
from backend.console.amounts import Amount, per_currency
from backend.conversations.models import Conversation
from backend.errors import Invalid
from backend.ledger import service as ledger
from backend.ledger.models import Arrangement, Loan

__all__ = ["Amount", "QueueRow", "details_line", "queue_rows"]

DETAILS_CHARS = 120


@dataclass(frozen=True, slots=True)
class QueueRow:
    handoff_id: int
    status: str  # waiting | taken | closed
    reason: str
    priority: str  # urgent | high | normal
    details: str  # first line, at most DETAILS_CHARS
    channel: str
    language: str | None  # the chat's, else the bound borrower's
    borrower_ref: str | None  # None: the chat is not verified
    borrower_name: str | None
    bucket: str | None  # worst bucket among loans not paid off; None: no borrower or none owed
    dpd: int | None  # days past due of that loan
    overdue: tuple[Amount, ...]  # per currency over the borrower's loans; empty if none
    waited_seconds: int
    over_sla: bool  # still waiting, longer than the SLA
    taken_by: str | None
    created_at: datetime
    taken_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Position:
    bucket: str | None
    dpd: int | None
    overdue: tuple[Amount, ...]


_NO_POSITION = _Position(None, None, ())


def details_line(details: str) -> str:
    """What fits on a queue row: the first line of the details, cut to DETAILS_CHARS."""
    lines = details.strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) <= DETAILS_CHARS:
        return first
    return first[: DETAILS_CHARS - 1].rstrip() + "…"


def queue_rows(
    session: Session,
    *,
    status: str,
    as_of: date,
    now: datetime,
    sla: timedelta,
    taken_by: str | None = None,
    limit: int = 200,
) -> list[QueueRow]:
    """Handoffs of one status in the order the page lists them: waiting ones in the order to
    serve them (as `handoffs.queue`), taken ones oldest taken first, closed ones newest first.
    `taken_by` narrows taken and closed ones to one collector's (nobody has a waiting one)."""
    found = _handoffs(session, status=status, taken_by=taken_by, limit=limit, now=now, sla=sla)
    conversations = _conversations(session, [h.conversation_id for h in found])
    borrower_ids = {c.borrower_id for c in conversations.values() if c.borrower_id is not None}
    positions = _positions(session, borrower_ids, as_of)
    rows = []
    for h in found:
        conversation = conversations[h.conversation_id]
        borrower = conversation.borrower
        position = positions.get(borrower.id, _NO_POSITION) if borrower else _NO_POSITION
        waited = rules.waited_seconds(
            h.created_at, taken_at=h.taken_at, closed_at=h.closed_at, now=now
        )
        rows.append(
            QueueRow(
                handoff_id=h.id,
                status=h.status,
                reason=h.reason,
                priority=rules.priority_label(h.reason),
                details=details_line(h.details),
                channel=conversation.channel,
                language=conversation.language or (borrower.language if borrower else None),
                borrower_ref=borrower.ref if borrower else None,
                borrower_name=borrower.full_name if borrower else None,
                bucket=position.bucket,
                dpd=position.dpd,
                overdue=position.overdue,
                waited_seconds=waited,
                over_sla=h.status == "waiting" and waited > sla.total_seconds(),
                taken_by=h.taken_by,
                created_at=h.created_at,
                taken_at=h.taken_at,
            )
        )
    return rows


def _handoffs(
    session: Session,
    *,
    status: str,
    taken_by: str | None,
    limit: int,
    now: datetime,
    sla: timedelta,
) -> list[Handoff]:
    if status == "waiting":
        return handoffs.queue(session, status="waiting", limit=limit, now=now, sla=sla)
    if status not in rules.HANDOFF_STATUSES:
        raise Invalid(
            f"unknown handoff status {status!r}; expected one of "
            f"{', '.join(rules.HANDOFF_STATUSES)}",
            code="unknown_status",
        )
    query = select(Handoff).where(Handoff.status == status)
    if taken_by is not None:
        query = query.where(Handoff.taken_by == taken_by)
    if status == "taken":
        order = (Handoff.taken_at.asc(), Handoff.id.asc())
    else:
        order = (Handoff.closed_at.desc(), Handoff.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def _conversations(session: Session, ids: Sequence[int]) -> dict[int, Conversation]:
    """The handoffs' conversations and their borrowers in one query, not one per row."""
    if not ids:
        return {}
    found = session.scalars(
        select(Conversation)
        .where(Conversation.id.in_(set(ids)))
        .options(selectinload(Conversation.borrower))
    )
    return {c.id: c for c in found}


def _positions(session: Session, borrower_ids: set[int], as_of: date) -> dict[int, _Position]:
    """Each borrower's worst loan and overdue total, once per borrower however many of their
    chats are in the list."""
    if not borrower_ids:
        return {}
    loans = session.scalars(
        select(Loan)
        .where(Loan.borrower_id.in_(borrower_ids))
        .order_by(Loan.id)
        .options(
            selectinload(Loan.installments),
            selectinload(Loan.arrangements).selectinload(Arrangement.installments),
        )
    )
    worst: dict[int, tuple[int, str]] = {}
    overdue: dict[int, list[Amount]] = {}
    for loan in loans:
        st = ledger.loan_statement(session, loan, as_of)
        overdue.setdefault(loan.borrower_id, []).append(Amount(st.overdue_amount, loan.currency))
        if st.paid_off:
            continue
        current = worst.get(loan.borrower_id)
        if current is None or st.dpd > current[0]:
            worst[loan.borrower_id] = (st.dpd, st.bucket.value)
    return {
        borrower_id: _Position(
            bucket=worst[borrower_id][1] if borrower_id in worst else None,
            dpd=worst[borrower_id][0] if borrower_id in worst else None,
            overdue=per_currency(amounts),
        )
        for borrower_id, amounts in overdue.items()
    }
