"""Pure rules of right-party verification."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil import parser as dateparser


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    max_attempts: int = 3
    lock_for: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class AfterFailure:
    failed: int  # failed attempts counted so far, 0 again once a lock starts
    locked_until: datetime | None


def after_failure(failed_before: int, now: datetime, policy: AttemptPolicy) -> AfterFailure:
    failed = failed_before + 1
    if failed >= policy.max_attempts:
        return AfterFailure(0, now + policy.lock_for)
    return AfterFailure(failed, None)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


# --- limits shared by every chat and channel ------------------------------------------------
# The per-chat policy above is not enough on its own: a client picks its chat id, so a new chat
# would get fresh attempts. Failed phone verifications are also counted per phone number and
# per borrower (whatever the chat or channel), and for everyone together.


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max_failures` failed attempts within `window`. With `lock_for`, reaching it
    locks for that long (or until staff clear it); without, the window itself is the limit (a
    rate: attempts wait until the oldest failure has left the window)."""

    max_failures: int
    window: timedelta
    lock_for: timedelta | None = None

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.window <= timedelta(0):
            raise ValueError("window must be longer than zero")
        if self.lock_for is not None and self.lock_for <= timedelta(0):
            raise ValueError("lock_for must be longer than zero")


@dataclass(frozen=True, slots=True)
class SharedLimits:
    """`per_identity` counts each phone number and each borrower the number belongs to, with
    the same figures for both, so an unknown number is refused exactly as a known one is.
    `everyone` is a rate over all phone verifications: a real borrower population stays far
    below it, a sweep over many numbers does not."""

    per_identity: Limit = Limit(5, timedelta(hours=24), timedelta(hours=24))
    everyone: Limit = Limit(200, timedelta(hours=1))


def counted_since(now: datetime, limit: Limit, reset_at: datetime | None) -> datetime:
    """Failures after this instant count: those inside the window, and only those after the
    last lock began or was cleared (a lock uses up the failures that tripped it)."""
    start = now - limit.window
    return start if reset_at is None else max(start, reset_at)


def lock_after(failures: int, now: datetime, limit: Limit) -> datetime | None:
    """The end of the lock that `failures` (counted, this one included) start, or None."""
    if limit.lock_for is None or failures < limit.max_failures:
        return None
    return now + limit.lock_for


def failures_left(failures: int, limit: Limit) -> int:
    return max(limit.max_failures - failures, 0)


def rate_reopens_at(failed_at: Sequence[datetime], now: datetime, limit: Limit) -> datetime | None:
    """For a rate: None while another attempt may be judged; else the moment the budget has
    room again (the failure that filled it leaves the window). `failed_at`: any order."""
    inside = sorted(t for t in failed_at if now - limit.window < t <= now)
    if len(inside) < limit.max_failures:
        return None
    return inside[-limit.max_failures] + limit.window


def phone_key(e164: str, secret: str) -> str:
    """A keyed hash of a normalised phone number: failures are counted by it, and the numbers
    people type (often not our borrowers') are not kept."""
    return hmac.new(secret.encode(), e164.encode(), hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    """Link tokens are stored hashed: a leaked table binds no chat."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def parse_birth_date(text: str) -> date | None:
    """A date of birth as people type it: 1990-03-07, 07/03/1990, 1990年3月7日, 19900307."""
    cleaned = re.sub(r"[年月]", "-", text.strip()).replace("日", "").replace("号", "")
    if re.fullmatch(r"\d{8}", cleaned):
        cleaned = f"{cleaned[:4]}-{cleaned[4:6]}-{cleaned[6:]}"
    try:
        # Year first when it leads; otherwise day first (07/03/1990 is 7 March in most markets).
        return dateparser.parse(
            cleaned, yearfirst=True, dayfirst=not re.match(r"\d{4}", cleaned)
        ).date()
    except (ValueError, OverflowError):
        return None


def second_factor_matches(given: str, *, id_last4: str, date_of_birth: date) -> bool:
    """The last 4 characters of the ID number, or the date of birth."""
    text = given.strip()
    compact = re.sub(r"[\s-]", "", text).upper()
    if len(compact) == 4 and compact == id_last4.upper():
        return True
    return len(compact) >= 6 and parse_birth_date(text) == date_of_birth
