"""A borrower's message as the gateway receives it: logged once however often the channel
delivers it, with what the gateway needs to route it (the chat's mode, language, binding)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from backend.conversations import service as conversations
from backend.conversations.messages import Message, NewMessage, logged_once
from backend.conversations.models import Conversation

INBOUND_KINDS = ("text", "button", "contact", "command")


@dataclass(frozen=True, slots=True)
class Received:
    conversation: Conversation
    message: Message
    duplicate: bool  # the channel delivered this message before: do not answer it again


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
    conversation = conversations.get_or_create(session, channel, user_id)
    new = NewMessage(sender="borrower", text=text, sent_at=sent_at, external_id=external_id)
    # With an external id, a twin delivered at the same moment is waited for by the database
    # and comes back as the repeat (messages.logged_once); without one there is no twin.
    [(message, repeat)] = logged_once(session, conversation, [new])
    return Received(conversation, message, duplicate=repeat)
