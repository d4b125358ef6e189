"""Console access rules: roles, passwords, lockout, session expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.staff import rules

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
POLICY = rules.LockoutPolicy(max_failures=5, lock_for=timedelta(minutes=15))


class TestRoles:
    @pytest.mark.parametrize(
        ("role", "opens", "closed"),
        [
            ("collector", {"queue", "chats"}, {"all_chats", "approvals", "operations", "users"}),
            ("supervisor", {"queue", "chats", "all_chats", "approvals"}, {"operations", "users"}),
            ("operations", {"operations"}, {"queue", "chats", "all_chats", "approvals", "users"}),
            ("admin", {"queue", "chats", "all_chats", "approvals", "operations", "users"}, set()),
        ],
    )
    def test_each_role_opens_only_its_pages(self, role: str, opens: set[str], closed: set[str]):
        assert all(rules.can(role, p) for p in opens)
        assert not any(rules.can(role, p) for p in closed)

    def test_an_unknown_role_opens_nothing(self):
        assert not rules.can("intern", "queue")

    def test_operations_land_on_their_own_page(self):
        assert rules.home_page("operations") == "/console/operations"
        assert rules.home_page("collector") == "/console/inbox"


class TestPasswords:
    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("aaaaaaaaaa", "short"),  # both accepted for an admin before
            ("password12", "short"),
            ("eleven-char", "short"),
            ("admin-is-the-boss", "username"),
            ("ADMIN-is-the-boss", "username"),
            ("aaaaaaaaaaaaaaab", "repetitive"),
            ("xx.xx.xx.xx.xx", "repetitive"),
            ("password1234", "guessable"),
            ("qwertyuiop123", "guessable"),
            ("1qaz2wsx3edc4rfv", "guessable"),
            ("abcdefghijklmn", "guessable"),
            ("iloveyou2026", "guessable"),
        ],
    )
    def test_weak_ones_are_refused_with_the_reason(self, password: str, reason: str):
        with pytest.raises(rules.RuleBroken) as refused:
            rules.check_password(password, username="admin")
        assert (refused.value.code, refused.value.reason) == ("weak_password", reason)

    @pytest.mark.parametrize(
        "password",
        ["try-the-console", "correct-horse-battery", "plum tractor velvet", "长城-晚霞-2026-咖啡"],
    )
    def test_passphrases_pass(self, password: str):
        rules.check_password(password, username="admin")

    def test_a_very_long_one_is_checked_without_error(self):
        rules.check_password("plum-tractor-velvet " * 10, username="admin")


class TestNewUsers:
    def test_a_good_user_passes(self):
        rules.check_new_user("wang.li", "collector", "zh", "a-long-passphrase")

    @pytest.mark.parametrize(
        ("username", "role", "language", "password", "code"),
        [
            ("Wang Li", "collector", "zh", "a-long-passphrase", "bad_username"),
            ("wang", "boss", "zh", "a-long-passphrase", "bad_role"),
            ("wang", "collector", "fr", "a-long-passphrase", "bad_language"),
            ("wang", "collector", "zh", "short", "weak_password"),
            ("wang", "collector", "zh", "wang-is-my-password", "weak_password"),
        ],
    )
    def test_refusals_name_the_problem(
        self, username: str, role: str, language: str, password: str, code: str
    ):
        with pytest.raises(rules.RuleBroken) as refused:
            rules.check_new_user(username, role, language, password)
        assert refused.value.code == code


class TestLockout:
    def test_the_fifth_failure_in_a_row_locks_for_fifteen_minutes(self):
        failures, lock = 0, None
        for _ in range(4):
            failures, lock = rules.after_failure(failures, NOW, POLICY)
            assert lock is None
        failures, lock = rules.after_failure(failures, NOW, POLICY)
        assert lock == NOW + timedelta(minutes=15)
        assert failures == 0

    def test_a_lock_ends_when_its_time_is_up(self):
        until = NOW + timedelta(minutes=15)
        assert rules.is_locked(until, NOW + timedelta(minutes=14, seconds=59))
        assert not rules.is_locked(until, until)
        assert not rules.is_locked(None, NOW)

    @given(st.integers(min_value=1, max_value=60))
    def test_no_lock_before_the_limit_however_many_attempts_came_before(self, attempts: int):
        failures, locks = 0, 0
        for _ in range(attempts):
            failures, lock = rules.after_failure(failures, NOW, POLICY)
            locks += lock is not None
        assert locks == attempts // POLICY.max_failures


class TestSessionExpiry:
    def test_use_extends_an_idle_session(self):
        created = NOW - timedelta(hours=1)
        expiry = rules.session_expiry(
            NOW, idle=timedelta(minutes=60), created_at=created, absolute=timedelta(hours=12)
        )
        assert expiry == NOW + timedelta(minutes=60)

    def test_never_beyond_the_absolute_limit(self):
        created = NOW - timedelta(hours=11, minutes=30)
        expiry = rules.session_expiry(
            NOW, idle=timedelta(minutes=60), created_at=created, absolute=timedelta(hours=12)
        )
        assert expiry == created + timedelta(hours=12)
