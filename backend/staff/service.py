"""Console users and sessions: create users, the database steps of a log-in, open, find and end
sessions. Functions flush, never commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, Invalid, NotFound
from backend.staff import rules
from backend.staff.models import StaffSession, StaffUser
from backend.staff.passwords import hash_password

# How often a session's last use is written down (its idle expiry moves on with it).
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    lockout: rules.LockoutPolicy


def _refusal(exc: rules.RuleBroken) -> Invalid:
    """A broken rule as a 422; a weak password's reason goes along so the console can say it in
    the user's language."""
    params: dict[str, str | int] = {}
    if exc.reason:
        params = {"reason": exc.reason, "min_length": rules.MIN_PASSWORD_LENGTH}
    return Invalid(str(exc), code=exc.code, params=params)


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    language: str,
    password: str,
) -> StaffUser:
    username = username.strip().lower()
    try:
        rules.check_new_user(username, role, language, password)
    except rules.RuleBroken as exc:
        raise _refusal(exc) from exc
    user = StaffUser(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        language=language,
        password_hash=hash_password(password),
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict(f"user {username!r} already exists", code="user_exists") from None
    return user


def get_user(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def users(
    session: Session, *, role: str | None = None, active_only: bool = False
) -> list[StaffUser]:
    query = select(StaffUser)
    if role is not None:
        query = query.where(StaffUser.role == role)
    if active_only:
        query = query.where(StaffUser.active.is_(True))
    return list(session.scalars(query.order_by(StaffUser.username)))


def any_user(session: Session) -> bool:
    return session.scalar(select(StaffUser.id).limit(1)) is not None


@dataclass(frozen=True, slots=True)
class LoginCandidate:
    """What a log-in checks the password against, read in a short session of its own: the
    password check (argon2, slow) runs after that session has ended."""

    user_id: int
    password_hash: str
    active: bool


def login_candidate(session: Session, username: str) -> LoginCandidate | None:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        return None
    return LoginCandidate(user.id, user.password_hash, user.active)


def record_failed_login(
    session: Session, *, candidate: LoginCandidate, locked_until: datetime | None
) -> None:
    """Count a wrong password on the account. `locked_until`: the end of a lock on one
    address, shown to admins on the Users page (log-ins themselves are paused per address in
    memory, see login_guard)."""
    user = session.get(StaffUser, candidate.user_id)
    if user is None:
        return
    user.failed_logins += 1
    if locked_until is not None:
        user.locked_until = locked_until
    session.flush()


def complete_login(
    session: Session, *, candidate: LoginCandidate, now: datetime
) -> StaffUser | None:
    """The user whose password was just checked, unless the account changed meanwhile (a new
    password, a deactivation): then None, and the log-in is refused."""
    user = session.get(StaffUser, candidate.user_id)
    if user is None or not user.active or user.password_hash != candidate.password_hash:
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: Session, *, user: StaffUser, now: datetime, policy: SessionPolicy
) -> tuple[str, StaffSession]:
    """A new session; returns the cookie's token (shown once, stored hashed) and the row."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=rules.session_expiry(
            now, idle=policy.idle, created_at=now, absolute=policy.absolute
        ),
    )
    session.add(row)
    session.flush()
    return token, row


def session_for(
    session: Session, *, token: str, now: datetime, policy: SessionPolicy
) -> StaffSession | None:
    """The live session behind a cookie (its idle expiry moved on), or None."""
    if not token:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _digest(token)))
    if row is None or row.ended_at is not None or now >= row.expires_at:
        return None
    if not row.user.active:
        return None
    if now - row.last_seen_at >= SEEN_EVERY:  # not a write on every live-region poll
        row.last_seen_at = now
        row.expires_at = rules.session_expiry(
            now, idle=policy.idle, created_at=row.created_at, absolute=policy.absolute
        )
    return row


def end_session(session: Session, *, row: StaffSession, now: datetime) -> None:
    row.ended_at = now
    session.flush()


def end_sessions_of(session: Session, *, user: StaffUser, now: datetime) -> None:
    for row in session.scalars(
        select(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    ):
        row.ended_at = now
    session.flush()


def update_user(
    session: Session,
    *,
    user: StaffUser,
    now: datetime,
    role: str | None = None,
    language: str | None = None,
    active: bool | None = None,
    unlock: bool = False,
    password: str | None = None,
) -> StaffUser:
    """An admin's change (or a user's own language). A new role, a new password or a
    deactivation ends the user's sessions, so it takes effect at once."""
    if role is not None and role not in rules.ROLES:
        raise Invalid(f"unknown role {role!r}", code="bad_role")
    if language is not None and language not in rules.LANGUAGES:
        raise Invalid(f"unknown language {language!r}", code="bad_language")
    if password is not None:
        try:
            rules.check_password(password, username=user.username)
        except rules.RuleBroken as exc:
            raise _refusal(exc) from exc
    ends_sessions = (
        (role is not None and role != user.role)
        or password is not None
        or (active is False and user.active)
    )
    if role is not None:
        user.role = role
    if language is not None:
        user.language = language
    if active is not None:
        user.active = active
    if unlock:
        user.failed_logins = 0
        user.locked_until = None
    if password is not None:
        user.password_hash = hash_password(password)
    session.flush()
    if ends_sessions:
        end_sessions_of(session, user=user, now=now)
    return user
