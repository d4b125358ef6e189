"""A chat's transcript as the console shows it beside the loan panel, a page at a time: the
page polls with the last message id it has and gets only what came after.

Read-only: no writes and no audit here (the page that shows it audits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.conversations.messages import transcript
from backend.conversations.models import Conversation
from backend.errors import NotFound


@dataclass(frozen=True, slots=True)
class TranscriptRow:
    id: int
    sender: str  # borrower | bot | collector | system
    author: str | None  # the collector who wrote it
    text: str
    buttons: tuple[str, ...]  # the titles of the buttons offered with it
    intent: str | None  # what the NLU understood of a borrower message
    confidence: float | None
    sent_at: datetime


def transcript_rows(
    session: Session, *, conversation_id: int, after: int | None = None, limit: int = 500
) -> list[TranscriptRow]:
    """The conversation's messages oldest first, strictly after message `after` when given
    (an id not of this conversation is NotFound, as for the API)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}")
    return [
        TranscriptRow(
            id=m.id,
            sender=m.sender,
            author=m.author,
            text=m.text,
            buttons=button_titles(m.buttons),
            intent=m.intent,
            confidence=m.confidence,
            sent_at=m.sent_at,
        )
        for m in transcript(session, conversation=conversation, after=after, limit=limit)
    ]


def button_titles(buttons: Sequence[dict[str, Any]] | None) -> tuple[str, ...]:
    """The titles a borrower saw; the payloads are the bot's business, not the collector's."""
    return tuple(str(b.get("title", "")) for b in buttons or ())
