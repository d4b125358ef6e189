"""Pure rules of right-party verification."""

from __future__ import annotations

import hashlib
import re
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
