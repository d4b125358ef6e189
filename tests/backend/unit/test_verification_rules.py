from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.verification.rules import (
    AttemptPolicy,
    after_failure,
    is_locked,
    parse_birth_date,
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
