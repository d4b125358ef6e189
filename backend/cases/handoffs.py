"""Handing a chat from the bot to a person and back. The conversation's mode follows its open
handoff: human while one is waiting or taken, bot again once it is closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.cases import rules
from backend.cases.models import Case, Handoff
from backend.conversations import service as conversations
from backend.conversations.messages import last_borrower_text
from backend.conversations.models import Conversation
from backend.errors import Conflict, Invalid, NotFound
from backend.ledger.models import Loan
from backend.outbound import service as outbound
from backend.outbound import texts
from backend.outbound.models import OutboundMessage
from backend.outreach.whatsapp_templates import WhatsAppTemplates
from backend.risk.scoring import latest_scores
from backend.types import utcnow


@dataclass(frozen=True, slots=True)
class Requested:
    handoff: Handoff
    created: bool  # False: the conversation's open handoff was returned


def open_handoff(session: Session, conversation_id: int) -> Handoff | None:
    """The conversation's current handoff: waiting or taken (there is at most one)."""
    return session.scalar(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status != "closed"
        )
    )


def request_from_chat(
    session: Session, *, channel: str, user_id: str, reason: str, details: str = ""
) -> Requested:
    """A chat asks for a person (verified or not: the conversation is made if need be)."""
    _check_reason(reason)
    conversation = conversations.get_or_create(session, channel, user_id)
    details = details_from_chat(session, conversation, details)
    return request_handoff(session, conversation=conversation, reason=reason, details=details)


def details_from_chat(session: Session, conversation: Conversation, details: str) -> str:
    """The details the assistant filed, as the inbox and the chat header show them: what the
    borrower wrote ("/human") rather than the payload the NLU was given ("/request_human")."""
    return rules.borrower_details(details, last_said=last_borrower_text(session, conversation.id))


def _check_reason(reason: str) -> None:
    try:
        rules.check_handoff_reason(reason)
    except rules.RuleBroken as exc:
        raise Invalid(str(exc), code=exc.code) from exc


def request_handoff(
    session: Session,
    *,
    conversation: Conversation,
    reason: str,
    details: str = "",
    case: Case | None = None,
) -> Requested:
    """Hand the chat to a person. A chat already waiting or with a person keeps its handoff
    (no duplicate); a more urgent reason (distress) raises its place in the queue."""
    _check_reason(reason)
    conversation.mode = "human"
    session.flush()  # written before the savepoint below, so both are in one transaction
    existing = open_handoff(session, conversation.id)
    if existing is None:
        handoff = Handoff(
            conversation_id=conversation.id,
            borrower_id=conversation.borrower_id,
            case_id=case.id if case else None,
            reason=reason,
            details=details,
            status="waiting",
            created_at=utcnow(),
        )
        try:
            with session.begin_nested():  # two requests at once: the partial unique index wins
                session.add(handoff)
        except IntegrityError:
            existing = open_handoff(session, conversation.id)
            if existing is None:
                raise
        else:
            return Requested(handoff, created=True)
    if rules.more_urgent(reason, existing.reason):
        existing.reason = reason
        existing.case_id = case.id if case else existing.case_id
    if details and details not in existing.details:
        existing.details = f"{existing.details}\n{details}".strip()
    session.flush()
    return Requested(existing, created=False)


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    return handoff


def take(
    session: Session, *, handoff: Handoff, collector: str, display_name: str | None = None
) -> Handoff:
    """A collector takes a waiting chat and the borrower is told who joined (by the name they
    show borrowers, else their username); taking it again is harmless, another's is 409."""
    try:
        changes = rules.check_take(handoff.status, handoff.taken_by, collector)
    except rules.RuleBroken as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    if changes:
        handoff.status = "taken"
        handoff.taken_by = collector
        handoff.taken_at = utcnow()
        session.flush()
        conversation = handoff.conversation
        outbound.enqueue(
            session,
            conversation=conversation,
            text=texts.collector_joined(
                outbound.language_for(conversation), collector=display_name or collector
            ),
            sender="system",
        )
    return handoff


def reply(session: Session, *, handoff: Handoff, collector: str, text: str) -> OutboundMessage:
    """The collector who has the chat writes to the borrower (through the gateway)."""
    try:
        rules.check_reply(handoff.status, handoff.taken_by, collector)
    except rules.RuleBroken as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    conversation = handoff.conversation
    if window_closed(session, conversation):
        raise Conflict(
            "WhatsApp lets a business write freely only within 24 hours of the borrower's "
            "last message, and this borrower has not written for longer: the reply would "
            "not be delivered. Send the approved template instead: it asks them to write back, "
            "and then you can reply.",
            code="whatsapp_window_closed",
        )
    return outbound.enqueue(
        session, conversation=conversation, text=text, sender="collector", author=collector
    )


def window_closed(session: Session, conversation: Conversation) -> bool:
    """Whether only a WhatsApp template can reach this chat now (more than 24 hours since the
    borrower last wrote)."""
    if conversation.channel not in outbound.WINDOWED:
        return False
    heard = outbound.borrower_last_heard(session, [conversation.id]).get(conversation.id)
    return heard is None or utcnow() - heard >= outbound.WHATSAPP_WINDOW


def send_template(
    session: Session, *, handoff: Handoff, collector: str, whatsapp: WhatsAppTemplates
) -> OutboundMessage:
    """The collector who has a WhatsApp chat whose window closed sends the approved template
    that asks the borrower to write back (no figures in it: whoever holds the phone reads it)."""
    try:
        rules.check_reply(handoff.status, handoff.taken_by, collector)
    except rules.RuleBroken as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    conversation = handoff.conversation
    if not window_closed(session, conversation):
        raise Conflict("the borrower can be written to freely: reply instead", code="window_open")
    filled = whatsapp.fill(whatsapp.collector, outbound.language_for(conversation), {})
    return outbound.enqueue(
        session,
        conversation=conversation,
        text=filled.text,
        sender="collector",
        author=collector,
        template=filled.as_json(),
    )


def close(session: Session, *, handoff: Handoff, note: str) -> Handoff:
    """The person hands the chat back to the bot (or the borrower left before being served);
    the borrower is told, and the gateway resumes the bot."""
    try:
        rules.check_close(handoff.status)
    except rules.RuleBroken as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    handoff.status = "closed"
    handoff.closed_at = utcnow()
    handoff.close_note = note
    conversation = handoff.conversation
    conversation.mode = "bot"
    session.flush()
    # resume_bot: the gateway resumes the bot before the borrower reads this, so it answers
    # the next message
    outbound.enqueue(
        session,
        conversation=conversation,
        text=texts.back_to_bot(outbound.language_for(conversation)),
        sender="system",
        resume_bot=True,
    )
    return handoff


def queue(
    session: Session,
    *,
    status: str,
    limit: int,
    now: datetime | None = None,
    sla: timedelta | None = None,
) -> list[Handoff]:
    """Waiting or taken handoffs in the order to serve them (`rules.queue_key`: with `sla`,
    those waiting longer come first within a priority); closed ones newest first."""
    if status not in rules.HANDOFF_STATUSES:
        raise Invalid(
            f"unknown handoff status {status!r}; expected one of "
            f"{', '.join(rules.HANDOFF_STATUSES)}",
            code="unknown_status",
        )
    query = select(Handoff).where(Handoff.status == status)
    if status == "closed":
        return list(session.scalars(query.order_by(Handoff.closed_at.desc()).limit(limit)))
    rows = list(session.scalars(query))
    risk = _risk(session, rows)
    late = (now or utcnow()) - sla if sla is not None else None

    def key(h: Handoff) -> tuple[int, bool, float, datetime, int]:
        over = late is not None and h.status == "waiting" and h.created_at < late
        return rules.queue_key(h.reason, h.created_at, h.id, risk=risk.get(h.id), over_sla=over)

    return sorted(rows, key=key)[:limit]


def _risk(session: Session, found: list[Handoff]) -> dict[int, float]:
    """Each handoff's borrower's highest roll_30 score over their loans (latest scored day)."""
    chats = {
        chat_id: borrower_id
        for chat_id, borrower_id in session.execute(
            select(Conversation.id, Conversation.borrower_id).where(
                Conversation.id.in_({h.conversation_id for h in found})
            )
        )
        if borrower_id is not None
    }
    if not chats:
        return {}
    loans = session.execute(
        select(Loan.id, Loan.borrower_id).where(Loan.borrower_id.in_(set(chats.values())))
    ).all()
    scores = latest_scores(session, [loan_id for loan_id, _ in loans])
    worst: dict[int, float] = {}
    for loan_id, borrower_id in loans:
        score = scores.get(loan_id)
        if score is not None and score.roll_30 is not None:
            worst[borrower_id] = max(worst.get(borrower_id, 0.0), score.roll_30)
    return {
        h.id: worst[chats[h.conversation_id]]
        for h in found
        if chats.get(h.conversation_id) in worst
    }
