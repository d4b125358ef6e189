"""What a collector does in a chat they have taken: send a payment link, record a promise, open
a dispute or hardship case, write a note, pass the chat on (plan offers: `collector_plans`).
Each use case checks that this collector has the chat and that the loan is the bound
borrower's, calls the service that owns the business, and tells the borrower in their language
what was done. Functions flush, never commit (the request's session does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from backend.cases import rules
from backend.cases import service as cases_service
from backend.cases.models import Case, Handoff, Note
from backend.conversations.service import VERIFY_FIRST
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.ledger.models import Loan
from backend.ledger.repository import loan_by_ref
from backend.money import format_major
from backend.outbound import service as outbound
from backend.outbound import texts
from backend.outbound.models import OutboundMessage
from backend.payments import service as payments_service
from backend.payments.models import PaymentLink
from backend.payments.provider import PaymentProvider
from backend.promises import service as promises_service
from backend.promises.models import Promise
from backend.promises.rules import PromisePolicy
from backend.staff import rules as staff_rules
from backend.staff.models import StaffUser
from backend.types import utcnow

# Where a button may carry a link: the web chat opens an http(s) payload as a link, while a
# Telegram button only calls back into the chat (bot/render.py), so there the URL is text only.
_LINK_BUTTON_CHANNELS = frozenset({"webchat"})

# -- who and which loan ------------------------------------------------------------------------


def holder_check(handoff: Handoff, *, username: str) -> None:
    """Only the collector who has taken the chat acts in it (409: handoff_closed,
    handoff_waiting, not_your_handoff)."""
    try:
        rules.check_reply(handoff.status, handoff.taken_by, username)
    except rules.RuleBroken as exc:
        raise Conflict(str(exc), code=exc.code) from exc


def bound_loan(session: Session, *, handoff: Handoff, loan_ref: str) -> Loan:
    """A loan of the borrower the chat is bound to now: an unverified chat gets nothing (403),
    another borrower's loan is answered as if it did not exist (404)."""
    borrower_id = handoff.conversation.borrower_id
    if borrower_id is None:
        raise Forbidden(VERIFY_FIRST, code="verification_required")
    loan = loan_by_ref(session, loan_ref)
    if loan is None or loan.borrower_id != borrower_id:
        raise NotFound(f"no loan {loan_ref!r} for this borrower")
    return loan


def tell_borrower(
    session: Session,
    handoff: Handoff,
    username: str,
    text: str,
    buttons: list[dict[str, Any]] | None = None,
) -> OutboundMessage:
    """A message from the collector to the borrower, through the outbox like their replies."""
    return outbound.enqueue(
        session,
        conversation=handoff.conversation,
        text=text,
        sender="collector",
        author=username,
        buttons=buttons,
    )


def money_text(minor: int, loan: Loan) -> str:
    """An amount as the borrower's messages write it (no grouping, the loan's decimals)."""
    return format_major(minor, loan.currency)


# -- payment link ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentLink:
    link: PaymentLink
    url: str
    message: OutboundMessage


def send_payment_link(
    session: Session,
    *,
    handoff: Handoff,
    username: str,
    loan_ref: str,
    amount: int | None,
    as_of: date,
    provider: PaymentProvider,
    ttl: timedelta,
    now: datetime,
) -> SentLink:
    """A payment link for `amount` (None: what is due now) sent to the borrower: the URL in the
    text on every channel, and as a button where the channel opens links from buttons."""
    holder_check(handoff, username=username)
    loan = bound_loan(session, handoff=handoff, loan_ref=loan_ref)
    if amount is not None and amount <= 0:
        raise Invalid("the amount must be greater than zero", code="invalid_amount")
    link = payments_service.create_link(
        session, loan=loan, provider=provider, amount=amount, as_of=as_of, now=now, ttl=ttl
    )
    url = provider.checkout_url(link.token)
    conversation = handoff.conversation
    language = outbound.language_for(conversation)
    text = texts.payment_link(
        language,
        amount=money_text(link.amount_minor, loan),
        currency=loan.currency,
        url=url,
        expires=_local_time(link.expires_at, loan.borrower.timezone),
    )
    buttons: list[dict[str, Any]] | None = None
    if conversation.channel in _LINK_BUTTON_CHANNELS:
        buttons = [{"title": texts.pay_button(language), "payload": url}]
    return SentLink(link, url, tell_borrower(session, handoff, username, text, buttons))


def _local_time(at: datetime, zone: str) -> str:
    """The borrower's wall-clock time (UTC, said so, if their zone is unknown)."""
    try:
        return f"{at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
    except (ZoneInfoNotFoundError, ValueError):
        return f"{at:%Y-%m-%d %H:%M} UTC"


# -- promise to pay ----------------------------------------------------------------------------


def record_promise(
    session: Session,
    *,
    handoff: Handoff,
    username: str,
    loan_ref: str,
    amount: int,
    promised_date: date,
    as_of: date,
    policy: PromisePolicy,
) -> Promise:
    """A promise the borrower made to the collector, within the same policy as the bot's
    (422 with the policy's code otherwise), confirmed to the borrower in writing."""
    holder_check(handoff, username=username)
    loan = bound_loan(session, handoff=handoff, loan_ref=loan_ref)
    promise = promises_service.make_promise(
        session,
        loan=loan,
        amount=amount,
        promised_date=promised_date,
        today=as_of,
        policy=policy,
        source="collector",
        recorded_by=username,
        conversation_id=handoff.conversation_id,
    )
    text = texts.promise_recorded(
        outbound.language_for(handoff.conversation),
        loan=loan.ref,
        currency=loan.currency,
        amount=money_text(promise.amount_minor, loan),
        date=promise.promised_date.isoformat(),
    )
    tell_borrower(session, handoff, username, text)
    return promise


# -- cases and notes ---------------------------------------------------------------------------


def open_case(
    session: Session,
    *,
    handoff: Handoff,
    username: str,
    kind: str,
    loan_ref: str | None,
    details: str,
    hold: bool = False,
) -> Case:
    """A dispute or hardship report the borrower raised with the collector. Filed like the
    bot's (so a dispute pauses collection on its loan, a hardship hold pauses contact), noted
    as the collector's, and the borrower is told what happens now."""
    holder_check(handoff, username=username)
    try:
        rules.check_collector_case(kind)
    except rules.RuleBroken as exc:
        raise Invalid(str(exc), code=exc.code) from exc
    conversation = handoff.conversation
    if conversation.borrower_id is None:  # both kinds are about the borrower's own debt
        raise Forbidden(VERIFY_FIRST, code="verification_required")
    loan = None if loan_ref is None else bound_loan(session, handoff=handoff, loan_ref=loan_ref)
    case = cases_service.file_case(
        session, conversation=conversation, kind=kind, loan=loan, details=details, hold=hold
    ).case
    cases_service.update_case(
        session, case=case, by=username, note=f"opened in a chat (handoff {handoff.id})"
    )
    text = texts.case_recorded(
        outbound.language_for(conversation),
        kind=kind,
        case=case.id,
        loan=loan.ref if loan else None,
        hold=hold,
    )
    tell_borrower(session, handoff, username, text)
    return case


def add_note(session: Session, *, handoff: Handoff, username: str, text: str) -> Note:
    """A note on the borrower for whoever serves them next (on the chat while unverified)."""
    holder_check(handoff, username=username)
    try:
        clean = rules.clean_note(text)
    except rules.RuleBroken as exc:
        raise Invalid(str(exc), code=exc.code) from exc
    conversation = handoff.conversation
    note = Note(
        borrower_id=conversation.borrower_id,
        conversation_id=conversation.id,
        handoff_id=handoff.id,
        author=username,
        text=clean,
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    return note


# -- passing the chat on -----------------------------------------------------------------------


def transfer(
    session: Session, *, handoff: Handoff, by: str, to: StaffUser, by_supervisor: bool
) -> Handoff:
    """The collector who has the chat (or a supervisor, for any waiting or taken one) passes it
    to another active user who may work chats; the borrower is told who joined.

    `taken_at` is set when a waiting chat is first taken and kept on later transfers: it ends
    the borrower's wait, which a transfer between colleagues does not restart."""
    try:
        rules.check_transfer(
            handoff.status,
            handoff.taken_by,
            by=by,
            to=to.username,
            by_supervisor=by_supervisor,
        )
    except rules.RuleBroken as exc:
        error = Invalid if exc.code == "same_collector" else Conflict
        raise error(str(exc), code=exc.code) from exc
    if not to.active:
        raise Invalid(f"{to.username} is not an active user", code="user_inactive")
    if not staff_rules.can(to.role, "chats"):
        raise Invalid(f"a {to.role} does not work chats", code="cannot_work_chats")
    handoff.status = "taken"
    handoff.taken_by = to.username
    handoff.taken_at = handoff.taken_at or utcnow()
    session.flush()
    conversation = handoff.conversation
    outbound.enqueue(
        session,
        conversation=conversation,
        text=texts.collector_joined(outbound.language_for(conversation), collector=to.display_name),
        sender="system",
    )
    return handoff
