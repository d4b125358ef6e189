"""Filing and following up cases, and the one question outreach asks before any proactive
message: may it go? Functions flush, never commit (the request's session does)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.cases import handoffs, rules
from backend.cases.models import Case, Handoff
from backend.conversations import service as conversations
from backend.conversations.models import Conversation
from backend.conversations.service import VERIFY_FIRST
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.ledger.models import Loan
from backend.ledger.repository import loan_by_ref
from backend.types import utcnow


@contextmanager
def rule_errors() -> Iterator[None]:
    """Turn a refusal of the pure rules into a 422 with the rule's code."""
    try:
        yield
    except rules.RuleBroken as exc:
        raise Invalid(str(exc), code=exc.code) from exc


@dataclass(frozen=True, slots=True)
class Filed:
    case: Case
    created: bool  # False: an opt-out already in force was returned
    handoff: Handoff | None  # distress escalates at once


def file_from_chat(
    session: Session,
    *,
    channel: str,
    user_id: str,
    kind: str,
    loan_ref: str | None,
    details: str,
    hold: bool = False,
) -> Filed:
    """A case from a chat. Complaints, distress and opt-outs come from anyone (the conversation
    is made if need be); disputes, hardship and contact updates, and any case naming a loan,
    need the chat to be verified (403), and the loan must be the bound borrower's own (404, as
    if it did not exist). Checked before anything is written."""
    with rule_errors():
        rules.check_case_request(kind, has_loan=loan_ref is not None, hold=hold)
    if kind in rules.NEEDS_VERIFIED_BORROWER or loan_ref is not None:
        conversation, _ = conversations.bound_borrower(session, channel, user_id)
    else:
        conversation = conversations.get_or_create(session, channel, user_id)
    loan = None
    if loan_ref is not None:
        loan = loan_by_ref(session, loan_ref)
        if loan is None or loan.borrower_id != conversation.borrower_id:
            raise NotFound(f"no loan {loan_ref!r} for this borrower")
    details = handoffs.details_from_chat(session, conversation, details)
    return file_case(
        session, conversation=conversation, kind=kind, loan=loan, details=details, hold=hold
    )


def file_case(
    session: Session,
    *,
    conversation: Conversation,
    kind: str,
    loan: Loan | None,
    details: str,
    hold: bool = False,
) -> Filed:
    """A case from a conversation; `loan` must be its bound borrower's. A second opt-out
    returns the one in force; distress also hands the chat to a person at once."""
    with rule_errors():
        rules.check_case_request(kind, has_loan=loan is not None, hold=hold)
    borrower_id = conversation.borrower_id
    if kind in rules.NEEDS_VERIFIED_BORROWER and borrower_id is None:
        raise Forbidden(VERIFY_FIRST, code="verification_required")
    if loan is not None and loan.borrower_id != borrower_id:
        raise NotFound("no such loan for this borrower")
    if kind == "opt_out":
        existing = _opt_out_in_force(session, conversation)
        if existing is not None:
            return Filed(existing, created=False, handoff=None)
    now = utcnow()
    case = Case(
        kind=kind,
        status="open",
        conversation_id=conversation.id,
        borrower_id=borrower_id,
        loan_id=loan.id if loan else None,
        details=details,
        hold=hold,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    handoff = None
    if kind == "distress":
        handoff = handoffs.request_handoff(
            session, conversation=conversation, reason="distress", details=details, case=case
        ).handoff
    return Filed(case, created=True, handoff=handoff)


def _opt_out_in_force(session: Session, conversation: Conversation) -> Case | None:
    return session.scalar(
        select(Case)
        .where(
            Case.conversation_id == conversation.id,
            Case.kind == "opt_out",
            Case.status != "withdrawn",
        )
        .order_by(Case.id)
        .limit(1)
    )


def opt_in(session: Session, *, conversation: Conversation) -> list[Case]:
    """The borrower asks for proactive messages again on this channel: every opt-out in force
    from this chat (and, once verified, the borrower's on this channel) is withdrawn."""
    mine = Case.conversation_id == conversation.id
    if conversation.borrower_id is not None:
        mine = or_(
            mine,
            (Case.borrower_id == conversation.borrower_id)
            & Case.conversation.has(Conversation.channel == conversation.channel),
        )
    withdrawn = list(
        session.scalars(
            select(Case).where(mine, Case.kind == "opt_out", Case.status != "withdrawn")
        )
    )
    now = utcnow()
    for case in withdrawn:
        _close(case, "withdrawn", now)
        case.notes += _note_line(now, "borrower", "opted in again")
    session.flush()
    return withdrawn


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def find_cases(
    session: Session,
    *,
    kind: str | None = None,
    status: str | None = None,
    borrower: Borrower | None = None,
    limit: int = 100,
) -> list[Case]:
    """Newest first."""
    if kind is not None and kind not in rules.CASE_KINDS:
        raise Invalid(f"unknown case kind {kind!r}", code="unknown_kind")
    if status is not None and status not in rules.CASE_STATUSES:
        raise Invalid(f"unknown case status {status!r}", code="unknown_status")
    query = select(Case)
    if kind is not None:
        query = query.where(Case.kind == kind)
    if status is not None:
        query = query.where(Case.status == status)
    if borrower is not None:
        query = query.where(Case.borrower_id == borrower.id)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def update_case(
    session: Session,
    *,
    case: Case,
    by: str,
    status: str | None = None,
    owner: str | None = None,
    note: str | None = None,
) -> Case:
    """Staff follow-up: move the status, set the owner, add a note. A resolved or withdrawn
    case is final (409)."""
    now = utcnow()
    if rules.is_closed_status(case.status):
        raise Conflict(f"the case is already {case.status}", code="case_closed")
    if status is not None:
        with rule_errors():
            rules.check_case_move(case.status, status)
        if rules.is_closed_status(status):
            _close(case, status, now)
        else:
            case.status = status
    if owner is not None:
        case.owner = owner
    if note:
        case.notes += _note_line(now, by, note)
    case.updated_at = now
    session.flush()
    return case


def _close(case: Case, status: str, now: datetime) -> None:
    case.status = status
    case.closed_at = now
    case.updated_at = now


def _note_line(at: datetime, by: str, note: str) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC {by}: {' '.join(note.split())}\n"


def proactive_contact_hold(
    session: Session, *, borrower_id: int, channel: str, loan_id: int | None = None
) -> str | None:
    """Why a proactive message to this borrower on this channel (about this loan, if any) may
    not go: "distress", "opt_out", "dispute", "hardship_hold" or "live_handoff"; None when it
    may. Cases filed before the chat was verified count for the borrower it is bound to now."""
    return contact_holds(session, [borrower_id]).hold(
        borrower_id=borrower_id, channel=channel, loan_id=loan_id
    )


@dataclass(frozen=True, slots=True)
class ContactHolds:
    """What holds proactive contact for a set of borrowers, read with two queries."""

    cases: dict[int, list[rules.CaseFact]]
    live: frozenset[int]  # borrowers with a chat waiting for or with a person

    def hold(self, *, borrower_id: int, channel: str, loan_id: int | None = None) -> str | None:
        return rules.contact_hold(
            self.cases.get(borrower_id, []),
            borrower_id=borrower_id,
            loan_id=loan_id,
            channel=channel,
            live_handoff=borrower_id in self.live,
        )

    def opted_out(self, borrower_id: int) -> frozenset[str]:
        """The channels this borrower opted out of (until they opt in again)."""
        return frozenset(
            c.channel
            for c in self.cases.get(borrower_id, [])
            if c.kind == "opt_out" and c.status != "withdrawn"
        )


def contact_holds(session: Session, borrower_ids: Collection[int]) -> ContactHolds:
    """The cases and live handoffs that may hold proactive messages to these borrowers."""
    ids = list(borrower_ids)
    rows = session.execute(
        select(Case, Conversation.channel, Conversation.borrower_id)
        .join(Conversation, Case.conversation_id == Conversation.id)
        .where(
            or_(
                Case.borrower_id.in_(ids),
                Case.borrower_id.is_(None) & Conversation.borrower_id.in_(ids),
            ),
            or_(Case.status.in_(rules.OPEN_STATUSES), Case.kind == "opt_out"),
        )
    ).all()
    cases: dict[int, list[rules.CaseFact]] = {}
    for case, case_channel, bound_id in rows:
        owner = case.borrower_id if case.borrower_id is not None else bound_id
        if owner is None:  # pragma: no cover - the query asks for one of them
            continue
        cases.setdefault(owner, []).append(
            rules.CaseFact(
                kind=case.kind,
                status=case.status,
                borrower_id=owner,
                loan_id=case.loan_id,
                channel=case_channel,
                hold=case.hold,
            )
        )
    live = session.scalars(
        select(Conversation.borrower_id)
        .join(Handoff, Handoff.conversation_id == Conversation.id)
        .where(Handoff.status != "closed", Conversation.borrower_id.in_(ids))
    )
    return ContactHolds(cases, frozenset(b for b in live if b is not None))
