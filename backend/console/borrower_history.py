"""What happened with a borrower before this chat: staff notes, cases they raised, and how
often a person has served them. Shown in the borrower panel; read-only.

Rows written in a chat before it was verified carry no borrower; they concern the borrower the
chat is bound to now, so they are counted as theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.cases.models import Case, Handoff, Note
from backend.conversations.models import Conversation
from backend.ledger.models import Loan


@dataclass(frozen=True, slots=True)
class NoteRow:
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    kind: str
    status: str
    loan_ref: str | None
    details: str
    hold: bool
    created_at: datetime


def _concerns(column: InstrumentedAttribute[int | None], borrower_id: int) -> ColumnElement[bool]:
    """Rows of the borrower: theirs, or written in a chat before it was verified as theirs
    (those concern the borrower the chat is bound to now). The query joins the conversation."""
    return or_(
        column == borrower_id,
        and_(column.is_(None), Conversation.borrower_id == borrower_id),
    )


def notes_of(session: Session, borrower_id: int) -> tuple[NoteRow, ...]:
    """Newest first: the latest word on the borrower is read first."""
    found = session.scalars(
        select(Note)
        .join(Conversation, Note.conversation_id == Conversation.id)
        .where(_concerns(Note.borrower_id, borrower_id))
        .order_by(Note.created_at.desc(), Note.id.desc())
    )
    return tuple(NoteRow(n.author, n.text, n.created_at) for n in found)


def cases_of(session: Session, borrower_id: int) -> tuple[CaseRow, ...]:
    """Newest first, whatever their status: a resolved dispute is still worth knowing."""
    found = session.execute(
        select(Case, Loan.ref)
        .join(Conversation, Case.conversation_id == Conversation.id)
        .outerjoin(Loan, Case.loan_id == Loan.id)
        .where(_concerns(Case.borrower_id, borrower_id))
        .order_by(Case.created_at.desc(), Case.id.desc())
    )
    return tuple(
        CaseRow(c.id, c.kind, c.status, loan_ref, c.details, c.hold, c.created_at)
        for c, loan_ref in found
    )


def closed_handoffs_of(session: Session, borrower_id: int) -> int:
    """How often a person has served the borrower before (the open handoff is not counted)."""
    count = session.scalar(
        select(func.count(Handoff.id))
        .join(Conversation, Handoff.conversation_id == Conversation.id)
        .where(Handoff.status == "closed", _concerns(Handoff.borrower_id, borrower_id))
    )
    return count or 0
