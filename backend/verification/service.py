"""Verification use cases: link tokens, phone plus a second factor, wrong-person reports."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.borrowers.identity import InvalidPhone, normalise_phone
from backend.borrowers.models import Borrower
from backend.conversations.models import Conversation
from backend.verification import lockout
from backend.verification.models import LinkToken, WrongPersonReport
from backend.verification.rules import (
    AttemptPolicy,
    SharedLimits,
    after_failure,
    hash_token,
    is_locked,
    phone_key,
    second_factor_matches,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # verified | failed | locked
    attempts_left: int
    locked_until: datetime | None
    borrower: Borrower | None = None
    # A failed phone verification: what it did to the limits shared by every chat.
    counted: lockout.Counted | None = None
    # The chat sent again the link token it had redeemed: nothing new was bound.
    again: bool = False


def issue_link_token(
    session: Session, borrower: Borrower, *, now: datetime, ttl: timedelta
) -> tuple[str, LinkToken]:
    """A fresh single-use token; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(18)  # 24 characters: fits Telegram's /start parameter
    row = LinkToken(
        token_hash=hash_token(token), borrower=borrower, created_at=now, expires_at=now + ttl
    )
    session.add(row)
    session.flush()
    return token, row


def _locked(conversation: Conversation, now: datetime) -> Outcome | None:
    if is_locked(conversation.locked_until, now):
        return Outcome("locked", 0, conversation.locked_until)
    return None


def _fail(conversation: Conversation, now: datetime, policy: AttemptPolicy) -> Outcome:
    result = after_failure(conversation.failed_verifications, now, policy)
    conversation.failed_verifications = result.failed
    conversation.locked_until = result.locked_until
    if result.locked_until is not None:
        return Outcome("locked", 0, result.locked_until)
    return Outcome("failed", policy.max_attempts - result.failed, None)


def _bind(
    conversation: Conversation, borrower: Borrower, how: str, now: datetime, policy: AttemptPolicy
) -> Outcome:
    conversation.borrower = borrower
    conversation.bound_at = now
    conversation.bound_by = how
    conversation.failed_verifications = 0
    conversation.locked_until = None
    conversation.language = conversation.language or borrower.language
    return Outcome("verified", policy.max_attempts, None, borrower)


def verify_with_token(
    session: Session,
    conversation: Conversation,
    token: str,
    *,
    now: datetime,
    policy: AttemptPolicy,
) -> Outcome:
    if (locked := _locked(conversation, now)) is not None:
        return locked
    row = session.scalar(select(LinkToken).where(LinkToken.token_hash == hash_token(token)))
    if row is not None and _redeemed_by(row, conversation):
        # Its turn was run again after a failure on the way (nlu/turns.py): the chat learns
        # nothing it was not told, and it is no attempt.
        return Outcome("verified", policy.max_attempts, None, row.borrower, again=True)
    if row is None or row.used_at is not None or now >= row.expires_at:
        return _fail(conversation, now, policy)
    row.used_at = now
    row.used_by_conversation_id = conversation.id
    return _bind(conversation, row.borrower, "link_token", now, policy)


def _redeemed_by(row: LinkToken, conversation: Conversation) -> bool:
    """The token was used by this chat, which is still bound to the token's borrower."""
    return (
        row.used_at is not None
        and row.used_by_conversation_id == conversation.id
        and conversation.borrower_id == row.borrower_id
    )


def verify_with_phone(
    session: Session,
    conversation: Conversation,
    *,
    phone: str,
    second_factor: str,
    now: datetime,
    policy: AttemptPolicy,
    limits: SharedLimits,
    secret: str,
    region: str = "CN",
) -> Outcome:
    """The phone number the channel shared (a Telegram contact) plus a second factor.

    A failure says nothing about which part was wrong, or whether the number is known: an
    unknown number is counted, locked and refused exactly as a borrower's is. Besides the
    chat's own attempts, failures count against the number, its borrower and everyone's budget
    (lockout.py), whatever the chat or channel; a lock there refuses even the right answer.
    `secret` keys the hash the number is counted by; `region`: the country a number typed
    without its country code is read in (PHONE_REGION).
    """
    if (locked := _locked(conversation, now)) is not None:
        return locked
    try:
        e164 = normalise_phone(phone, region)
    except InvalidPhone:
        return _fail(conversation, now, policy)
    lockout.take_turn(session)
    key = phone_key(e164, secret)
    candidates = session.scalars(select(Borrower).where(Borrower.phone_e164 == e164)).all()
    refused = lockout.refusal(session, key=key, borrowers=candidates, now=now, limits=limits)
    if refused is not None:
        return Outcome("locked", 0, refused.locked_until)
    matches = [
        b
        for b in candidates
        if second_factor_matches(second_factor, id_last4=b.id_last4, date_of_birth=b.date_of_birth)
    ]
    if len(matches) == 1:
        return _bind(conversation, matches[0], "phone", now, policy)
    # none, or ambiguous: never guess between two people
    counted = lockout.count_failure(
        session,
        phone_e164=e164,
        key=key,
        borrowers=candidates,
        conversation=conversation,
        now=now,
        limits=limits,
    )
    return _counted_failure(_fail(conversation, now, policy), counted)


def _counted_failure(chat: Outcome, counted: lockout.Counted) -> Outcome:
    """The answer to a failure counted both in the chat and across chats: locked when either
    locked (until the later end), else the fewer attempts left."""
    ends = [t for t in (chat.locked_until, counted.locked_until, counted.everyone_until) if t]
    if ends:
        return Outcome("locked", 0, max(ends), counted=counted)
    return Outcome("failed", min(chat.attempts_left, counted.attempts_left), None, counted=counted)


def report_wrong_person(
    session: Session, conversation: Conversation, *, note: str
) -> WrongPersonReport:
    """Record it, and unbind the chat if it was bound: whoever is there now is not the borrower."""
    report = WrongPersonReport(
        conversation_id=conversation.id, borrower_id=conversation.borrower_id, note=note[:2000]
    )
    session.add(report)
    conversation.borrower = None
    conversation.bound_at = None
    conversation.bound_by = None
    session.flush()
    return report
