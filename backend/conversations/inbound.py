"""A borrower's message as the gateway receives it: logged once however often the channel
delivers it, with what the gateway needs to route it (the chat's mode, language, binding).

It runs for every borrower message, so it speaks SQL to the tables, not through ORM objects:
two statements for the common message (the chat with its borrower's language, then the
message), and the ORM only for a chat's first message. In process, 0.6 to 0.8 ms of CPU where
loading the chat and the message as objects took 1.7 to 2.0 (README, "Benchmark")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.conversations import service as conversations
from backend.conversations.messages import MESSAGES, UNLESS_LOGGED
from backend.conversations.models import Conversation
from backend.types import utcnow

INBOUND_KINDS = ("text", "button", "contact", "command")

_chats, _borrowers, _messages = Conversation.__table__, Borrower.__table__, MESSAGES

# The chat and its borrower's language, in one statement.
_CHAT = (
    select(
        _chats.c.id,
        _chats.c.mode,
        _chats.c.language,
        _chats.c.borrower_id,
        _borrowers.c.language.label("borrower_language"),
    )
    .select_from(_chats.outerjoin(_borrowers, _borrowers.c.id == _chats.c.borrower_id))
    .where(_chats.c.channel == bindparam("channel"), _chats.c.channel_user_id == bindparam("user"))
)
_LOGGED = select(_messages.c.id).where(
    _messages.c.conversation_id == bindparam("chat"),
    _messages.c.external_id == bindparam("external_id"),
)
# The message, unless the chat has its external id already; its id when it was logged now.
_INSERTS = {name: insert.returning(_messages.c.id) for name, insert in UNLESS_LOGGED.items()}


@dataclass(frozen=True, slots=True)
class Received:
    conversation_id: int
    message_id: int
    duplicate: bool  # the channel delivered this message before: do not answer it again
    mode: str  # bot | human
    language: str | None  # the borrower's once verified, else the chat's; None: not known
    borrower_id: int | None


def receive(
    session: Session,
    *,
    channel: str,
    user_id: str,
    text: str,
    external_id: str | None = None,
    sent_at: datetime | None = None,
) -> Received:
    """Log a borrower's message, creating the chat on its first. The same channel message
    (external id) delivered twice, even twice at once, is logged once and the second delivery
    is told it is a duplicate."""
    conversations.check_channel(channel)
    connection = session.connection()
    chat = connection.execute(_CHAT, {"channel": channel, "user": user_id}).one_or_none()
    if chat is None:
        conversations.get_or_create(session, channel, user_id)  # two first messages: one chat
        session.flush()
        chat = connection.execute(_CHAT, {"channel": channel, "user": user_id}).one()
    row = {
        "conversation_id": chat.id,
        "sender": "borrower",
        "text": text,
        "sent_at": sent_at or utcnow(),
        "external_id": external_id,
    }
    inserted = connection.execute(_INSERTS[connection.dialect.name], row).scalar()
    if inserted is not None:
        return _received(chat, inserted, duplicate=False)
    # Only an external id can conflict: the message was logged before.
    logged = connection.execute(_LOGGED, {"chat": chat.id, "external_id": external_id})
    return _received(chat, logged.scalar_one(), duplicate=True)


def _received(chat: Any, message_id: int, *, duplicate: bool) -> Received:  # a row of _CHAT
    return Received(
        conversation_id=chat.id,
        message_id=message_id,
        duplicate=duplicate,
        mode=chat.mode,
        language=chat.borrower_language if chat.borrower_id is not None else chat.language,
        borrower_id=chat.borrower_id,
    )
