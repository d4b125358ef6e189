"""Finding conversations and the borrower bound to one."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.conversations.models import CHANNELS, Conversation
from backend.errors import Forbidden, Invalid

VERIFY_FIRST = "verify first: this conversation is not linked to a borrower yet"


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise Invalid(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")


def of_chat(channel: str, user_id: str) -> ColumnElement[bool]:
    """The condition a query puts on Conversation for one chat."""
    check_channel(channel)
    return and_(Conversation.channel == channel, Conversation.channel_user_id == user_id)


def find(session: Session, channel: str, user_id: str) -> Conversation | None:
    return session.scalar(select(Conversation).where(of_chat(channel, user_id)))


def get_or_create(session: Session, channel: str, user_id: str) -> Conversation:
    conversation = find(session, channel, user_id)
    if conversation is not None:
        return conversation
    conversation = Conversation(channel=channel, channel_user_id=user_id)
    try:
        with session.begin_nested():  # two first messages at once: one row
            session.add(conversation)
    except IntegrityError:
        existing = find(session, channel, user_id)
        assert existing is not None
        return existing
    return conversation


def language_of(conversation: Conversation) -> str | None:
    """The language to use with this chat: the borrower's once verified, else the one the chat
    was heard in; None when neither is known."""
    if conversation.borrower is not None:
        return conversation.borrower.language
    return conversation.language


def bound_borrower(session: Session, channel: str, user_id: str) -> tuple[Conversation, Borrower]:
    """The conversation and its borrower, or a "verify first" refusal that discloses nothing."""
    conversation = find(session, channel, user_id)
    if conversation is None or conversation.borrower is None:
        raise Forbidden(VERIFY_FIRST, code="verification_required")
    return conversation, conversation.borrower
