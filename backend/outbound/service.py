"""The outbox: queueing a message to a borrower (other packages call `enqueue`), and the
gateway's side: claiming what is due and reporting how each delivery went."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from backend.conversations import service as conversations
from backend.conversations.messages import Message, NewMessage, log_messages
from backend.conversations.models import Conversation
from backend.errors import Conflict, Invalid, NotFound
from backend.outbound import rules, texts
from backend.outbound.models import OutboundMessage
from backend.outbound.sms_length import measure
from backend.types import utcnow


def language_for(conversation: Conversation) -> str:
    """The language to write to this borrower in: theirs once verified, else the chat's, else
    Chinese."""
    return texts.pick_language(conversations.language_of(conversation))


def enqueue(
    session: Session,
    *,
    conversation: Conversation,
    text: str,
    sender: str,
    author: str | None = None,
    buttons: Sequence[dict[str, Any]] | None = None,
    resume_bot: bool = False,
    logged_text: str | None = None,
    template: dict[str, Any] | None = None,
) -> OutboundMessage:
    """Queue a message to the borrower: it goes into the transcript now and out through the
    gateway as soon as one claims it, in the caller's transaction (both or neither).
    `logged_text`: what the transcript keeps instead, when the text carries a secret (an SMS's
    link token); the outbox keeps the text itself only until it is delivered or fails.
    `template`: a WhatsApp template that goes instead of the text (its body, filled in)."""
    if sender not in rules.SENDERS:
        raise Invalid(
            f"unknown sender {sender!r}; expected one of {', '.join(rules.SENDERS)}",
            code="unknown_sender",
        )
    if not text.strip():
        raise Invalid("a message to the borrower needs text", code="empty_message")
    button_list = [dict(b) for b in buttons] if buttons is not None else None
    [message] = log_messages(
        session,
        conversation=conversation,
        messages=[
            NewMessage(sender=sender, text=logged_text or text, author=author, buttons=button_list)
        ],
    )
    now = utcnow()
    row = OutboundMessage(
        conversation=conversation,
        message=message,
        sender=sender,
        author=author,
        text=text,
        buttons=button_list,
        template=template,
        resume_bot=resume_bot,
        segments=measure(text).segments if conversation.channel == "sms" else None,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _conversation(session: Session, channel: str, user_id: str) -> Conversation:
    conversation = conversations.find(session, channel, user_id)
    if conversation is None:
        raise NotFound("no such conversation")
    return conversation


def enqueue_to_chat(
    session: Session,
    *,
    channel: str,
    user_id: str,
    text: str,
    sender: str,
    author: str | None = None,
    buttons: Sequence[dict[str, Any]] | None = None,
) -> OutboundMessage:
    """Queue a message to a chat that exists (the backend never opens a chat itself)."""
    return enqueue(
        session,
        conversation=_conversation(session, channel, user_id),
        text=text,
        sender=sender,
        author=author,
        buttons=buttons,
    )


def claim(
    session: Session,
    *,
    limit: int,
    lease: timedelta,
    now: datetime,
    channels: list[str] | None = None,
) -> list[OutboundMessage]:
    """Lease up to `limit` due messages to the calling gateway, oldest first. A chat's messages
    go out in the order queued: only the oldest pending message of each chat is claimable, so
    a later one waits while an earlier one is out or waiting to be retried.

    Two gateways never get the same message: PostgreSQL skips rows another claim has locked,
    SQLite lets one claim at a time hold the write lock. A gateway names the channels it
    serves: another's messages are left for a gateway that can deliver them."""
    earlier = aliased(OutboundMessage)
    behind_another = exists().where(
        earlier.conversation_id == OutboundMessage.conversation_id,
        earlier.status == "pending",
        earlier.id < OutboundMessage.id,
    )
    query = select(OutboundMessage).where(
        OutboundMessage.status == "pending",
        OutboundMessage.next_attempt_at <= now,
        or_(OutboundMessage.lease_until.is_(None), OutboundMessage.lease_until <= now),
        ~behind_another,
    )
    if channels is not None:
        query = query.where(OutboundMessage.conversation.has(Conversation.channel.in_(channels)))
    due = session.scalars(
        query.order_by(OutboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboundMessage)
        .options(selectinload(OutboundMessage.conversation).selectinload(Conversation.borrower))
        .execution_options(populate_existing=True)
    ).all()
    for row in due:
        row.lease_until = now + lease
        row.attempts += 1
    session.flush()
    return list(due)


# Channels whose free-form messages may go only within a while of the borrower's last message:
# WhatsApp's customer-service window.
WINDOWED = frozenset({"whatsapp"})
WHATSAPP_WINDOW = timedelta(hours=24)


def borrower_last_heard(session: Session, conversation_ids: list[int]) -> dict[int, datetime]:
    """When the borrower last wrote in each of these chats."""
    if not conversation_ids:
        return {}
    rows = session.execute(
        select(Message.conversation_id, func.max(Message.sent_at))
        .where(Message.conversation_id.in_(conversation_ids), Message.sender == "borrower")
        .group_by(Message.conversation_id)
    ).all()
    return {conversation_id: at for conversation_id, at in rows if at is not None}


# Meta's error code for a message that cannot reach the number: not on WhatsApp (or an app too
# old to receive it). The gateway writes it into the outbox's error.
UNDELIVERABLE_ON_WHATSAPP = "131026"


def not_on_whatsapp(session: Session, wa_ids: Collection[str]) -> set[str]:
    """The WhatsApp ids a message to came back undeliverable, and that have not written since:
    writing to them again would fail again."""
    if not wa_ids:
        return set()
    failed = (
        select(Conversation.channel_user_id, Conversation.id, func.max(OutboundMessage.created_at))
        .join(OutboundMessage, OutboundMessage.conversation_id == Conversation.id)
        .where(
            Conversation.channel == "whatsapp",
            Conversation.channel_user_id.in_(list(wa_ids)),
            or_(OutboundMessage.status == "failed", OutboundMessage.receipt == "failed"),
            OutboundMessage.error.contains(UNDELIVERABLE_ON_WHATSAPP),
        )
        .group_by(Conversation.channel_user_id, Conversation.id)
    )
    rows = session.execute(failed).all()
    heard = borrower_last_heard(session, [conversation_id for _, conversation_id, _ in rows])
    return {
        wa_id
        for wa_id, conversation_id, at in rows
        if (last := heard.get(conversation_id)) is None or last < at
    }


def get(session: Session, outbound_id: int, *, for_update: bool = False) -> OutboundMessage:
    row = session.get(
        OutboundMessage, outbound_id, with_for_update=for_update, populate_existing=for_update
    )
    if row is None:
        raise NotFound(f"no outbound message {outbound_id}")
    return row


def report_delivery(
    session: Session,
    *,
    outbound_id: int,
    status: str,
    channel_message_id: str | None,
    error: str | None,
    retry_after: timedelta | None,
    now: datetime,
) -> OutboundMessage:
    """Record how a delivery went: delivered, stored (the web chat was not open: the borrower
    finds it in the history), failed, or retry (back to the queue after a wait; failed for
    good after the last attempt). The same final report twice is harmless."""
    row = get(session, outbound_id, for_update=True)
    try:
        move = rules.on_report(
            status=row.status,
            attempts=row.attempts,
            report=status,
            now=now,
            retry_after=retry_after,
        )
    except rules.RuleBroken as exc:
        error_type = Invalid if exc.code == "unknown_status" else Conflict
        raise error_type(str(exc), code=exc.code) from exc
    if not move.changed:
        return row
    row.status = move.status
    row.lease_until = None
    if channel_message_id is not None:
        row.channel_message_id = channel_message_id
    if error is not None:
        row.error = error[:500]
    if move.status in {"delivered", "stored", "failed"}:
        row.text = row.message.text  # out of the queue: a secret in it is of no more use
    if move.status in {"delivered", "stored"}:
        row.delivered_at = now
    elif move.status == "failed" and status == "retry" and row.error is None:
        row.error = f"not delivered after {row.attempts} attempts"
    if move.next_attempt_at is not None:
        row.next_attempt_at = move.next_attempt_at
    session.flush()
    return row


def for_chat(
    session: Session, *, channel: str, user_id: str, limit: int = 100
) -> tuple[Conversation, list[OutboundMessage]]:
    """A chat's outbox, newest first."""
    conversation = _conversation(session, channel, user_id)
    rows = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.conversation_id == conversation.id)
        .order_by(OutboundMessage.id.desc())
        .limit(limit)
    )
    return conversation, list(rows)


RECEIPTS = ("sent", "delivered", "read", "failed")


def record_receipt(
    session: Session,
    *,
    channel: str,
    channel_message_id: str,
    receipt: str,
    error: str | None,
    at: datetime,
) -> OutboundMessage:
    """What the provider later says of a message it took (an SMS delivered to the handset, a
    WhatsApp message read): kept on the outbox row; a later receipt never goes back to an
    earlier one (delivered stays delivered when a late "sent" arrives)."""
    if receipt not in RECEIPTS:
        raise Invalid(
            f"unknown receipt {receipt!r}; expected one of {', '.join(RECEIPTS)}",
            code="unknown_receipt",
        )
    row = session.scalar(
        select(OutboundMessage)
        .join(Conversation, OutboundMessage.conversation_id == Conversation.id)
        .where(
            Conversation.channel == channel,
            OutboundMessage.channel_message_id == channel_message_id,
        )
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"no {channel} message {channel_message_id}")
    known = row.receipt
    if known is None or RECEIPTS.index(receipt) >= RECEIPTS.index(known) or receipt == "failed":
        row.receipt = receipt
        row.receipt_at = at
        if error is not None:
            row.error = error[:500]
    session.flush()
    return row
