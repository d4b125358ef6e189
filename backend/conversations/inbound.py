"""A borrower's message as the gateway receives it: logged once however often the channel
delivers it, with what the gateway needs to route it (the chat's mode, language, binding).

It runs for every borrower message, so it speaks SQL to the tables, not through ORM objects:
two statements for the common message (the chat with its borrower's language, then the
message), and two more for a chat's first message (the chat, and its look-up again); a first
message through the ORM took 7 times the CPU of another. In process, 0.6 to 0.8 ms of CPU where
loading the chat and the message as objects took 1.7 to 2.0 (bench/RESULTS.md). On
PostgreSQL the two are one statement, and the backend runs it outside a transaction
(`received_at_once`): one round trip to the database instead of four (BEGIN, the look-up, the
insert, COMMIT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.conversations import service as conversations
from backend.conversations.messages import MESSAGES, UNLESS_LOGGED
from backend.conversations.models import Conversation
from backend.types import utcnow

INBOUND_KINDS = ("text", "button", "contact", "command")

_chats, _borrowers, _messages = cast(Table, Conversation.__table__), Borrower.__table__, MESSAGES

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
# A chat's first message opens it, unless another delivery did a moment ago (one chat for two
# first messages at once: the later waits for the earlier and then skips).
_NEW_CHATS = {
    name: insert(_chats).on_conflict_do_nothing(index_elements=["channel", "channel_user_id"])
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_LOGGED = select(_messages.c.id).where(
    _messages.c.conversation_id == bindparam("chat"),
    _messages.c.external_id == bindparam("external_id"),
)
# The message, unless the chat has its external id already; its id when it was logged now.
_INSERTS = {name: insert.returning(_messages.c.id) for name, insert in UNLESS_LOGGED.items()}
_ROW = ("conversation_id", "sender", "text", "sent_at", "external_id")
# PostgreSQL: both in one statement, the message taking its chat from the look-up; the answer
# is the chat's row with the message's id (None: logged before), or no row (no chat yet).
_chat = _CHAT.cte("chat")
_logged = (
    UNLESS_LOGGED["postgresql"]
    .from_select(
        list(_ROW),
        select(
            _chat.c.id,
            *(bindparam(name, type_=_messages.c[name].type) for name in _ROW[1:]),
        ),
    )
    .returning(_messages.c.id)
    .cte("logged")
)
_AT_ONCE = select(_chat, _logged.c.id.label("inserted")).select_from(
    _chat.outerjoin(_logged, true())
)


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
    no_chat_yet: bool = False,
) -> Received:
    """Log a borrower's message, creating the chat on its first. The same channel message
    (external id) delivered twice, even twice at once, is logged once and the second delivery
    is told it is a duplicate. `no_chat_yet`: `received_at_once` found no chat a moment ago,
    so the chat is opened without looking for it first."""
    connection = session.connection()
    message = borrower_message(text, external_id, sent_at)
    chat = None
    if not no_chat_yet:
        if (received := received_at_once(connection, channel, user_id, message)) is not None:
            return received
        if connection.dialect.name != "postgresql":  # where it looked, there is no chat yet
            chat = connection.execute(_CHAT, {"channel": channel, "user": user_id}).one_or_none()
    if chat is None:
        new_chat = {"channel": channel, "channel_user_id": user_id}
        connection.execute(_NEW_CHATS[connection.dialect.name], new_chat)
        chat = connection.execute(_CHAT, {"channel": channel, "user": user_id}).one()
    row = {"conversation_id": chat.id, **message}
    inserted = connection.execute(_INSERTS[connection.dialect.name], row).scalar()
    return _received(connection, chat, inserted, external_id)


def received_at_once(
    connection: Connection, channel: str, user_id: str, message: dict[str, Any]
) -> Received | None:
    """On PostgreSQL, a message to a chat that exists, logged in one statement; None, with
    nothing written, where the chat does not exist yet or the database is another. Each
    statement may be a transaction of its own (autocommit): it writes only the message."""
    conversations.check_channel(channel)
    if connection.dialect.name != "postgresql":
        return None
    params = {"channel": channel, "user": user_id, **message}
    chat = connection.execute(_AT_ONCE, params).one_or_none()
    if chat is None:
        return None
    return _received(connection, chat, chat.inserted, message["external_id"])


def borrower_message(
    text: str, external_id: str | None = None, sent_at: datetime | None = None
) -> dict[str, Any]:
    """The message's row, less its chat, for `received_at_once`."""
    return {
        "sender": "borrower",
        "text": text,
        "sent_at": sent_at or utcnow(),
        "external_id": external_id,
    }


def _received(
    connection: Connection, chat: Any, inserted: int | None, external_id: str | None
) -> Received:  # chat: a row of _CHAT
    if inserted is not None:
        return _row(chat, inserted, duplicate=False)
    # Only an external id can conflict: the message was logged before.
    logged = connection.execute(_LOGGED, {"chat": chat.id, "external_id": external_id})
    return _row(chat, logged.scalar_one(), duplicate=True)


def _row(chat: Any, message_id: int, *, duplicate: bool) -> Received:
    return Received(
        conversation_id=chat.id,
        message_id=message_id,
        duplicate=duplicate,
        mode=chat.mode,
        language=chat.borrower_language if chat.borrower_id is not None else chat.language,
        borrower_id=chat.borrower_id,
    )
