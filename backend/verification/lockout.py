"""Failed phone verifications counted across every chat and channel: per phone number, per
borrower and for everyone (the limits are in rules.py). Locks, the security notice to the
borrower's verified chats, the audit trail, and staff clearing a lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from backend.audit.service import Actor, audit
from backend.borrowers.identity import mask_phone
from backend.borrowers.models import Borrower
from backend.conversations.models import Conversation
from backend.outbound import service as outbound
from backend.outreach.policy import CompliancePolicy
from backend.outreach.rules import borrower_zone
from backend.verification import notices
from backend.verification.models import VerificationFailure, VerificationLock
from backend.verification.rules import (
    SharedLimits,
    counted_since,
    failures_left,
    lock_after,
    phone_key,
    rate_reopens_at,
)

# Any fixed number: the PostgreSQL advisory lock every phone verification takes in turn.
_ADVISORY_KEY = 0x5EC0_0014


def take_turn(session: Session) -> None:
    """Phone verifications are judged one at a time, so requests sent at once cannot all read
    the same count and each get a guess. SQLite already runs one write transaction at a time
    (BEGIN IMMEDIATE, backend/db.py); PostgreSQL holds this lock until the request commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Phone verification is refused before the answer is looked at."""

    locked_until: datetime


def refusal(
    session: Session,
    *,
    key: str,
    borrowers: Sequence[Borrower],
    now: datetime,
    limits: SharedLimits,
) -> Refusal | None:
    """A lock on the number or on a borrower it belongs to, or everyone's budget spent."""
    ids = [b.id for b in borrowers]
    locked_until = session.scalar(
        select(func.max(VerificationLock.locked_until)).where(
            VerificationLock.cleared_at.is_(None),
            VerificationLock.locked_until > now,
            or_(
                (VerificationLock.scope == "phone") & (VerificationLock.phone_key == key),
                (VerificationLock.scope == "borrower") & VerificationLock.borrower_id.in_(ids),
            ),
        )
    )
    if locked_until is not None:
        return Refusal(locked_until)
    reopens = rate_reopens_at(_everyones_failures(session, now, limits), now, limits.everyone)
    return Refusal(reopens) if reopens is not None else None


def _everyones_failures(session: Session, now: datetime, limits: SharedLimits) -> list[datetime]:
    since = now - limits.everyone.window
    return list(
        session.scalars(select(VerificationFailure.at).where(VerificationFailure.at > since))
    )


@dataclass(frozen=True, slots=True)
class Counted:
    """What one more failure did."""

    phone_e164: str
    attempts_left: int  # for this number, before it locks
    locked_until: datetime | None  # the number or its borrowers locked by this failure
    borrowers_locked: tuple[Borrower, ...]
    everyone_until: datetime | None  # this failure spent everyone's budget, until then


def count_failure(
    session: Session,
    *,
    phone_e164: str,
    key: str,
    borrowers: Sequence[Borrower],
    conversation: Conversation,
    now: datetime,
    limits: SharedLimits,
) -> Counted:
    session.add(
        VerificationFailure(
            at=now,
            phone_key=key,
            borrower_id=borrowers[0].id if len(borrowers) == 1 else None,
            conversation_id=conversation.id,
        )
    )
    session.flush()
    limit = limits.per_identity
    phone_failures = _count(
        session,
        VerificationFailure.phone_key == key,
        since=counted_since(now, limit, _reset_at(session, phone_key=key)),
    )
    phone_until = lock_after(phone_failures, now, limit)
    if phone_until is not None:
        _lock(session, "phone", now, phone_until, phone_key=key)
    locked: list[Borrower] = []
    for borrower in borrowers:
        failures = _count(
            session,
            or_(
                VerificationFailure.borrower_id == borrower.id, VerificationFailure.phone_key == key
            ),
            since=counted_since(now, limit, _reset_at(session, borrower_id=borrower.id)),
        )
        if (until := lock_after(failures, now, limit)) is not None:
            _lock(session, "borrower", now, until, borrower_id=borrower.id)
            locked.append(borrower)
            phone_until = until  # the same end; the borrower may have failed on an old number
    # Judged only while the budget had room (refusal()), so a full one now is this failure's.
    everyone_until = rate_reopens_at(
        _everyones_failures(session, now, limits), now, limits.everyone
    )
    return Counted(
        phone_e164=phone_e164,
        attempts_left=failures_left(phone_failures, limit),
        locked_until=phone_until,
        borrowers_locked=tuple(locked),
        everyone_until=everyone_until,
    )


def _count(session: Session, which: object, *, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationFailure)
            .where(
                which,  # type: ignore[arg-type]
                VerificationFailure.at > since,
            )
        )
        or 0
    )


def _reset_at(
    session: Session, *, phone_key: str | None = None, borrower_id: int | None = None
) -> datetime | None:
    """When the last lock of this number or borrower began or was cleared."""
    if phone_key is not None:
        which = (VerificationLock.scope == "phone") & (VerificationLock.phone_key == phone_key)
    else:
        which = (VerificationLock.scope == "borrower") & (
            VerificationLock.borrower_id == borrower_id
        )
    began, cleared = session.execute(
        select(func.max(VerificationLock.locked_at), func.max(VerificationLock.cleared_at)).where(
            which
        )
    ).one()
    moments = [m for m in (began, cleared) if m is not None]
    return max(moments) if moments else None


def _lock(
    session: Session,
    scope: str,
    now: datetime,
    until: datetime,
    *,
    phone_key: str | None = None,
    borrower_id: int | None = None,
) -> None:
    session.add(
        VerificationLock(
            scope=scope,
            phone_key=phone_key,
            borrower_id=borrower_id,
            locked_at=now,
            locked_until=until,
        )
    )
    session.flush()


def announce(
    session: Session,
    counted: Counted,
    *,
    conversation: Conversation,
    actor: Actor,
    compliance: CompliancePolicy,
    limits: SharedLimits,
    now: datetime,
) -> None:
    """Audit what this failure locked, and tell each locked borrower's verified chats (not the
    one the attempt came from) that someone tried to verify as them."""
    limit, everyone = limits.per_identity, limits.everyone
    failures = f"{limit.max_failures} failed attempts in {_span(limit.window.total_seconds())}"
    if counted.locked_until is not None:
        until = counted.locked_until.isoformat(timespec="minutes")
        for borrower in counted.borrowers_locked:
            audit(
                session,
                actor,
                "update",
                borrower_id=borrower.id,
                subject=f"phone verification locked until {until}: {failures}",
            )
            _tell(session, borrower, counted.locked_until, conversation, compliance, now)
        if not counted.borrowers_locked:
            audit(
                session,
                actor,
                "update",
                borrower_id=None,
                subject=f"phone verification locked for {mask_phone(counted.phone_e164)} "
                f"until {until}: {failures}",
            )
    if counted.everyone_until is not None:
        audit(
            session,
            actor,
            "update",
            borrower_id=None,
            subject=f"phone verification paused for everyone until "
            f"{counted.everyone_until.isoformat(timespec='minutes')}: {everyone.max_failures} "
            f"failed attempts in {_span(everyone.window.total_seconds())}",
        )


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _tell(
    session: Session,
    borrower: Borrower,
    locked_until: datetime,
    source: Conversation,
    compliance: CompliancePolicy,
    now: datetime,
) -> None:
    profile = compliance.profile_for(borrower.phone_e164)
    zone = borrower_zone(borrower.timezone, profile)
    send_at = notices.notice_at(now, zone, profile.window)
    chats = session.scalars(
        select(Conversation)
        .where(Conversation.borrower_id == borrower.id, Conversation.id != source.id)
        .order_by(Conversation.id)
    )
    for chat in chats:
        text_ = notices.lock_notice(
            outbound.language_for(chat), locked_until=locked_until, zone=zone
        )
        queued = outbound.enqueue(session, conversation=chat, text=text_, sender="system")
        queued.next_attempt_at = send_at  # the outbox holds it until the window opens
    session.flush()


def locks_of(
    session: Session, borrower: Borrower, *, secret: str, now: datetime
) -> list[VerificationLock]:
    """The borrower's locks in force: theirs, and their phone number's."""
    return list(
        session.scalars(
            select(VerificationLock)
            .where(
                VerificationLock.cleared_at.is_(None),
                VerificationLock.locked_until > now,
                or_(
                    VerificationLock.borrower_id == borrower.id,
                    VerificationLock.phone_key == phone_key(borrower.phone_e164, secret),
                ),
            )
            .order_by(VerificationLock.id)
        )
    )


def clear(session: Session, borrower: Borrower, *, actor: Actor, secret: str, now: datetime) -> int:
    """Staff lift a borrower's locks (and their number's): the failures before now no longer
    count. Audited. Returns how many locks were lifted."""
    lifted = locks_of(session, borrower, secret=secret, now=now)
    for lock in lifted:
        lock.cleared_at = now
        lock.cleared_by = actor.name[:100]
    if lifted:
        audit(
            session, actor, "update", borrower_id=borrower.id, subject="phone verification unlocked"
        )
    session.flush()
    return len(lifted)
