from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.config import Settings
from backend.outreach.policy import ContactWindow
from backend.verification.notices import lock_notice, notice_at
from backend.verification.rules import (
    AttemptPolicy,
    Limit,
    SharedLimits,
    after_failure,
    counted_since,
    failures_left,
    is_locked,
    lock_after,
    parse_birth_date,
    phone_key,
    rate_reopens_at,
    second_factor_matches,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["1990-03-07", "1990/3/7", "19900307", "1990年3月7日", "07/03/1990", "7 March 1990"]
)
def test_birth_dates_as_people_type_them(text: str) -> None:
    assert parse_birth_date(text) == date(1990, 3, 7)


@pytest.mark.parametrize("text", ["hello", "", "1990-13-45"])
def test_non_dates_are_none(text: str) -> None:
    assert parse_birth_date(text) is None


class TestSecondFactor:
    def test_last_four_of_the_id_any_case(self) -> None:
        assert second_factor_matches("123x", id_last4="123X", date_of_birth=date(1990, 3, 7))

    def test_date_of_birth(self) -> None:
        assert second_factor_matches(
            "1990年3月7日", id_last4="123X", date_of_birth=date(1990, 3, 7)
        )

    def test_wrong_answers(self) -> None:
        for given_text in ("1234", "1990-03-08", "", "x"):
            assert not second_factor_matches(
                given_text, id_last4="123X", date_of_birth=date(1990, 3, 7)
            )


class TestAttempts:
    policy = AttemptPolicy(max_attempts=3, lock_for=timedelta(minutes=30))

    def test_third_failure_locks_for_the_period(self) -> None:
        first = after_failure(0, NOW, self.policy)
        second = after_failure(first.failed, NOW, self.policy)
        third = after_failure(second.failed, NOW, self.policy)
        assert (first.locked_until, second.locked_until) == (None, None)
        assert third.locked_until == NOW + timedelta(minutes=30)
        assert is_locked(third.locked_until, NOW + timedelta(minutes=29))
        assert not is_locked(third.locked_until, NOW + timedelta(minutes=30))

    @given(st.integers(min_value=1, max_value=10), st.integers(min_value=0, max_value=30))
    def test_never_more_failures_than_allowed_before_a_lock(self, limit: int, tries: int) -> None:
        policy = AttemptPolicy(limit, timedelta(minutes=5))
        failed, locks = 0, 0
        for _ in range(tries):
            result = after_failure(failed, NOW, policy)
            failed = result.failed
            locks += result.locked_until is not None
            assert failed < limit
        assert locks == tries // limit


class TestLimitsAcrossChats:
    """The limits shared by every chat and channel (issue 15, finding 2)."""

    limit = SharedLimits().per_identity

    def test_defaults_a_lender_can_live_with(self) -> None:
        limits = SharedLimits()
        assert limits.per_identity == Limit(5, timedelta(hours=24), timedelta(hours=24))
        assert limits.everyone == Limit(200, timedelta(hours=1))  # a rate: no lock of its own

    def test_the_fifth_failure_in_a_day_locks_for_a_day(self) -> None:
        assert [lock_after(n, NOW, self.limit) for n in range(1, 5)] == [None] * 4
        assert lock_after(5, NOW, self.limit) == NOW + timedelta(hours=24)
        assert [failures_left(n, self.limit) for n in (0, 4, 5, 9)] == [5, 1, 0, 0]

    def test_failures_count_inside_the_window_and_after_the_last_lock(self) -> None:
        assert counted_since(NOW, self.limit, None) == NOW - timedelta(hours=24)
        old_lock = NOW - timedelta(days=3)
        assert counted_since(NOW, self.limit, old_lock) == NOW - timedelta(hours=24)
        cleared = NOW - timedelta(hours=1)
        assert counted_since(NOW, self.limit, cleared) == cleared

    def test_everyones_budget_is_a_sliding_window(self) -> None:
        rate = Limit(3, timedelta(hours=1))
        minutes = [NOW - timedelta(minutes=m) for m in (90, 50, 20, 10)]
        # three inside the hour: full until the oldest of them (50 minutes ago) leaves it
        assert rate_reopens_at(minutes, NOW, rate) == NOW + timedelta(minutes=10)
        assert rate_reopens_at(minutes[:3], NOW, rate) is None
        assert rate_reopens_at(minutes, NOW + timedelta(minutes=10), rate) is None
        assert lock_after(99, NOW, rate) is None

    @given(
        st.lists(st.integers(min_value=0, max_value=7200), max_size=40),
        st.integers(min_value=1, max_value=10),
    )
    def test_a_full_budget_reopens_exactly_when_it_has_room(
        self, seconds_ago: list[int], budget: int
    ) -> None:
        rate = Limit(budget, timedelta(hours=1))
        failed = [NOW - timedelta(seconds=s) for s in seconds_ago]
        reopens = rate_reopens_at(failed, NOW, rate)
        if reopens is None:
            return
        assert reopens > NOW
        assert rate_reopens_at(failed, reopens, rate) is None
        assert rate_reopens_at(failed, reopens - timedelta(seconds=1), rate) is not None

    @pytest.mark.parametrize(
        "args",
        [(0, timedelta(hours=1)), (5, timedelta(0)), (5, timedelta(hours=1), timedelta(0))],
    )
    def test_nonsense_limits_are_refused(self, args: tuple) -> None:  # type: ignore[type-arg]
        with pytest.raises(ValueError, match="must be"):
            Limit(*args)

    @pytest.mark.parametrize(
        "name",
        [
            "verify_borrower_max_failures",
            "verify_borrower_window_hours",
            "verify_borrower_lock_hours",
            "verify_global_max_failures",
            "verify_global_window_minutes",
        ],
    )
    def test_settings_refuse_a_limit_of_zero_at_start_up(self, name: str) -> None:
        with pytest.raises(ValueError, match=name):
            Settings(**{name: 0})  # type: ignore[arg-type]

    def test_numbers_are_counted_by_a_keyed_hash(self) -> None:
        key = phone_key("+8613800138001", "secret")
        assert key == phone_key("+8613800138001", "secret") != phone_key("+8613800138001", "x")
        assert "13800138001" not in key and len(key) == 64


class TestLockNotice:
    shanghai = ZoneInfo("Asia/Shanghai")
    window = ContactWindow(start=time(8), end=time(21))

    def test_in_the_borrowers_language_with_local_time(self) -> None:
        until = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
        zh = lock_notice("zh", locked_until=until, zone=self.shanghai)
        en = lock_notice("en", locked_until=until, zone=self.shanghai)
        assert zh.startswith("安全提醒") and "2026-04-02 11:00" in zh and "/human" in zh
        assert en.startswith("Security notice") and "2026-04-02 11:00" in en and "/human" in en
        assert lock_notice(None, locked_until=until, zone=self.shanghai) == zh

    def test_goes_now_inside_the_window_else_when_it_opens(self) -> None:
        day = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
        night = datetime(2026, 4, 1, 13, 30, tzinfo=UTC)  # 21:30
        early = datetime(2026, 4, 1, 22, 0, tzinfo=UTC)  # 06:00 the next day
        opens = datetime(2026, 4, 2, 0, 0, tzinfo=UTC)  # 08:00
        assert notice_at(day, self.shanghai, self.window) == day
        assert notice_at(night, self.shanghai, self.window) == opens
        assert notice_at(early, self.shanghai, self.window) == opens
