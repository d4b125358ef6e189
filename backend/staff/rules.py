"""Pure rules of console access: roles and what each may do, lockout, session expiry,
password policy. No I/O."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from zxcvbn import zxcvbn  # pure: an estimate, no I/O

ROLES = ("collector", "supervisor", "operations", "admin")
LANGUAGES = ("en", "zh")

# What each role may do in the console. Admin may do everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "collector": frozenset({"queue", "chats"}),
    "supervisor": frozenset(
        {"queue", "chats", "all_chats", "approvals", "compliance", "portfolio", "versions"}
    ),
    # "versions": see what the assistant says and the policy files, with their versions;
    # proposing a change needs "operations", deciding one "approvals" (a compliance change
    # "users", an admin's), never one's own (version_rules.py).
    "operations": frozenset({"operations", "compliance", "portfolio", "versions"}),
    "admin": frozenset(
        {
            "queue",
            "chats",
            "all_chats",
            "approvals",
            "operations",
            "users",
            "compliance",
            "portfolio",
            "versions",
        }
    ),
}

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
MIN_PASSWORD_LENGTH = 12
# zxcvbn's score (0-4): 3 is "safely unguessable" against an online attack; below that are
# common passwords, words, names, dates, keyboard walks and sequences with digits tacked on.
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input (its cost grows with length)


class RuleBroken(ValueError):
    def __init__(self, message: str, code: str, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason  # for weak passwords: short | username | repetitive | guessable


def can(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def home_page(role: str) -> str:
    """Where a user lands after logging in: the first page their role opens."""
    if can(role, "queue"):
        return "/console/inbox"
    if can(role, "operations"):
        return "/console/operations"
    return "/console/account"


def check_new_user(username: str, role: str, language: str, password: str) -> None:
    if not USERNAME.match(username):
        raise RuleBroken(
            "a username is 2-40 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter",
            "bad_username",
        )
    if role not in ROLES:
        raise RuleBroken(f"unknown role {role!r}; expected one of {', '.join(ROLES)}", "bad_role")
    if language not in LANGUAGES:
        raise RuleBroken(f"unknown language {language!r}; expected en or zh", "bad_language")
    check_password(password, username=username)


def check_password(password: str, *, username: str) -> None:
    """A console password must stand up to guessing: long enough, not the username, not mostly
    one character, and not a common password or pattern (zxcvbn's estimate)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleBroken(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters", "weak_password", "short"
        )
    if username.lower() in password.lower():
        raise RuleBroken("a password may not contain the username", "weak_password", "username")
    if Counter(password.lower()).most_common(1)[0][1] * 2 > len(password):
        raise RuleBroken(
            "a password may not be mostly one character", "weak_password", "repetitive"
        )
    estimate = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[username])
    if estimate["score"] < MIN_PASSWORD_SCORE:
        raise RuleBroken(
            "a password may not be a common password, word, name, date, keyboard pattern or "
            "sequence: a few unrelated words make a good one",
            "weak_password",
            "guessable",
        )


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int  # consecutive failed logins before the account locks
    lock_for: timedelta


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(
    failures: int, now: datetime, policy: LockoutPolicy
) -> tuple[int, datetime | None]:
    """The failure count and lock after one more wrong password. Reaching the limit locks the
    account and starts the count again, so the next lock needs as many failures."""
    failures += 1
    if failures >= policy.max_failures:
        return 0, now + policy.lock_for
    return failures, None


def session_expiry(
    now: datetime, *, idle: timedelta, created_at: datetime, absolute: timedelta
) -> datetime:
    """A session lasts `idle` past its last use, never beyond `absolute` after log-in."""
    return min(now + idle, created_at + absolute)
