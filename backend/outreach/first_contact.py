"""Reaching a borrower who never opened the bot: the conversation an SMS goes out in (keyed by the
phone number on the lender's record), the link in each text that opens the web chat already
linked to the borrower (a one-time link token, single use, expiring as any other), and the
WhatsApp chat a first template opens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.conversations import service as conversations
from backend.conversations.models import Conversation
from backend.types import utcnow
from backend.verification.service import issue_link_token

# The token in a link, hidden wherever the text is kept after it went out: the transcript a
# collector reads, the outbox once delivered. Whoever holds it could link a chat as the borrower.
_TOKEN_IN_LINK = re.compile(r"([?&]start=)[A-Za-z0-9_-]+")
HIDDEN = "…"


@dataclass(frozen=True, slots=True)
class ChatLink:
    """Where the web chat is (its public address) and how long a link in an SMS stays valid."""

    webchat_url: str = "http://127.0.0.1:8080/webchat"
    ttl: timedelta = timedelta(hours=72)

    def issue(self, session: Session, borrower: Borrower) -> str:
        # On the wall clock, as verification checks it: a dry run or a test deciding at another
        # moment still hands out a token that works now.
        token, _ = issue_link_token(session, borrower, now=utcnow(), ttl=self.ttl)
        return f"{self.webchat_url}?start={token}"


def hide_tokens(text: str) -> str:
    return _TOKEN_IN_LINK.sub(rf"\g<1>{HIDDEN}", text)


def sms_conversation(session: Session, borrower: Borrower, *, now: datetime) -> Conversation:
    """The borrower's SMS conversation: their number, on record, so bound to them from the
    start ("record"), unlike a chat, which is bound only once its user verifies. A number that
    moved to another borrower moves with it (the caller never texts a shared number)."""
    conversation = conversations.get_or_create(session, "sms", borrower.phone_e164)
    if conversation.borrower_id != borrower.id:
        conversation.borrower = borrower
        conversation.bound_at = now
        conversation.bound_by = "record"
        conversation.language = borrower.language
    return conversation


def whatsapp_id_of(phone_e164: str) -> str:
    """A number's WhatsApp id: its digits, without the +."""
    return phone_e164.lstrip("+")


def whatsapp_conversation(session: Session, borrower: Borrower, wa_id: str) -> Conversation:
    """The WhatsApp chat at the number on the lender's record. Unlike an SMS conversation it is
    not bound to the borrower: whoever answers the template can write back, so they verify
    first, as in any chat. It speaks the borrower's language until they choose."""
    conversation = conversations.get_or_create(session, "whatsapp", wa_id)
    if conversation.borrower_id is None and conversation.language is None:
        conversation.language = borrower.language
    return conversation
