"""Promise rules with worked figures, and properties of judging a promise."""

import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.config import ROOT, Settings
from backend.main import create_app
from backend.policy_files import PolicyFileError
from backend.promises.rules import (
    PromisePolicy,
    PromiseRefused,
    PromiseStatus,
    PromiseTerms,
    PromiseWindow,
    Receipt,
    broken_in_a_row,
    check_new_promise,
    evaluate,
    kept_threshold,
    pay_by,
    should_escalate,
    window,
)
from backend.promises.service import load_promise_policy

POLICY = PromisePolicy()  # 14 days ahead, 20% of overdue, kept at 95%, 3 grace days, 2 in a row
MADE = date(2026, 4, 1)
X = date(2026, 4, 10)  # the promised date
PROMISE = PromiseTerms(amount=50_000, promised_date=X, created_on=MADE)  # 500.00 by 10 April


def paid(*rows: tuple[date, int]) -> list[Receipt]:
    return [Receipt(on, amount) for on, amount in rows]


def days(n: int) -> timedelta:
    return timedelta(days=n)


class TestJudgingAPromise:
    def test_480_of_500_paid_by_the_date_plus_grace_is_kept(self) -> None:
        result = evaluate(PROMISE, paid((X + days(3), 48_000)), as_of=X + days(4), policy=POLICY)
        assert (result.status, result.paid) == (PromiseStatus.KEPT, 48_000)

    def test_kept_as_soon_as_the_amount_is_reached(self) -> None:
        early = date(2026, 4, 2)
        result = evaluate(PROMISE, paid((early, 50_000)), as_of=early, policy=POLICY)
        assert result.status is PromiseStatus.KEPT

    def test_payments_add_up(self) -> None:
        receipts = paid((date(2026, 4, 3), 30_000), (X, 17_500))  # 475.00: exactly 95%
        assert evaluate(PROMISE, receipts, as_of=X, policy=POLICY).status is PromiseStatus.KEPT

    def test_470_of_500_is_partly_kept_once_grace_has_passed(self) -> None:
        receipts = paid((X + days(3), 47_000))
        on_last_day = evaluate(PROMISE, receipts, as_of=X + days(3), policy=POLICY)
        day_after = evaluate(PROMISE, receipts, as_of=X + days(4), policy=POLICY)
        assert (on_last_day.status, on_last_day.paid) == (PromiseStatus.OPEN, 47_000)
        assert (day_after.status, day_after.paid) == (PromiseStatus.PARTLY_KEPT, 47_000)

    def test_nothing_paid_is_broken_the_day_after_grace(self) -> None:
        assert evaluate(PROMISE, [], as_of=X + days(3), policy=POLICY).status is PromiseStatus.OPEN
        assert evaluate(PROMISE, [], as_of=X + days(4), policy=POLICY).status is (
            PromiseStatus.BROKEN
        )

    def test_a_payment_after_grace_does_not_count(self) -> None:
        result = evaluate(PROMISE, paid((X + days(4), 50_000)), as_of=X + days(5), policy=POLICY)
        assert (result.status, result.paid) == (PromiseStatus.BROKEN, 0)

    def test_a_payment_before_the_promise_was_made_does_not_count(self) -> None:
        result = evaluate(PROMISE, paid((MADE - days(1), 50_000)), as_of=X + days(4), policy=POLICY)
        assert result.status is PromiseStatus.BROKEN

    def test_no_grace_means_the_day_after_the_date(self) -> None:
        strict = PromisePolicy(grace_days=0)
        assert pay_by(X, strict) == X
        assert evaluate(PROMISE, [], as_of=X + days(1), policy=strict).status is (
            PromiseStatus.BROKEN
        )

    def test_the_kept_threshold_rounds_up_to_a_whole_cent(self) -> None:
        assert kept_threshold(50_000, POLICY) == 47_500
        assert kept_threshold(10_001, POLICY) == 9_501  # 9500.95 -> 9501
        assert kept_threshold(1, POLICY) == 1


class TestWindow:
    """The test loan on 1 April 2026: 2,261.79 overdue, 12,415.33 settles it."""

    def allowed(
        self, policy: PromisePolicy = POLICY, overdue: int = 226_179, payoff: int = 1_241_533
    ) -> PromiseWindow:
        return window(today=MADE, overdue=overdue, payoff=payoff, currency="CNY", policy=policy)

    def test_from_today_to_14_days_ahead_at_least_a_fifth_of_the_overdue(self) -> None:
        allowed = self.allowed()
        assert (allowed.earliest, allowed.latest) == (date(2026, 4, 1), date(2026, 4, 15))
        assert (allowed.minimum, allowed.maximum) == (45_236, 1_241_533)  # 452.358 -> 452.36

    def test_an_absolute_minimum_when_little_is_overdue(self) -> None:
        policy = PromisePolicy(min_amount={"CNY": Decimal("100")})
        assert self.allowed(policy, overdue=0).minimum == 10_000
        assert self.allowed(policy).minimum == 45_236  # the larger of the two

    def test_the_minimum_never_exceeds_what_settles_the_loan(self) -> None:
        policy = PromisePolicy(min_amount={"CNY": Decimal("100")})
        assert self.allowed(policy, overdue=5_000, payoff=5_000).minimum == 5_000

    def test_accepts_the_edges(self) -> None:
        check_new_promise(self.allowed(), amount=45_236, promised_date=date(2026, 4, 1))
        check_new_promise(self.allowed(), amount=1_241_533, promised_date=date(2026, 4, 15))

    @pytest.mark.parametrize(
        ("amount", "on", "code", "says"),
        [
            (50_000, date(2026, 3, 31), "promise_date_in_past", "from 2026-04-01 to 2026-04-15"),
            (50_000, date(2026, 4, 16), "promise_beyond_window", "from 2026-04-01 to 2026-04-15"),
            (45_235, date(2026, 4, 10), "promise_below_minimum", "at least 452.36 CNY"),
            (1_241_534, date(2026, 4, 10), "promise_above_balance", "at most 12415.33 CNY"),
        ],
    )
    def test_refusals_say_what_would_be_accepted(
        self, amount: int, on: date, code: str, says: str
    ) -> None:
        with pytest.raises(PromiseRefused) as refused:
            check_new_promise(self.allowed(), amount=amount, promised_date=on)
        assert refused.value.code == code
        assert says in refused.value.message

    def test_nothing_to_promise_on_a_settled_loan(self) -> None:
        with pytest.raises(PromiseRefused) as refused:
            check_new_promise(
                self.allowed(overdue=0, payoff=0), amount=100, promised_date=date(2026, 4, 2)
            )
        assert refused.value.code == "promise_nothing_owed"


class TestBrokenInARow:
    B, P, K = PromiseStatus.BROKEN, PromiseStatus.PARTLY_KEPT, PromiseStatus.KEPT

    def test_two_broken_in_a_row_escalate(self) -> None:
        assert broken_in_a_row([self.K, self.B, self.B], POLICY) == 2
        assert should_escalate([self.K, self.B, self.B], POLICY)

    def test_a_kept_promise_ends_the_run(self) -> None:
        assert broken_in_a_row([self.B, self.K, self.B], POLICY) == 1
        assert not should_escalate([self.B, self.K, self.B], POLICY)

    def test_partly_kept_ends_the_run_unless_the_policy_counts_it(self) -> None:
        outcomes = [self.B, self.P, self.B]
        assert broken_in_a_row(outcomes, POLICY) == 1
        assert broken_in_a_row(outcomes, PromisePolicy(partly_kept_counts_as_broken=True)) == 3

    def test_an_open_promise_is_not_an_outcome(self) -> None:
        assert broken_in_a_row([self.B, self.B, PromiseStatus.OPEN], POLICY) == 2


# --- properties ---------------------------------------------------------------------------

policies = st.builds(
    PromisePolicy,
    kept_share=st.decimals(min_value=Decimal("0.5"), max_value=1, places=2),
    grace_days=st.integers(0, 7),
)
terms = st.builds(
    PromiseTerms,
    amount=st.integers(1, 10_000_000),
    promised_date=st.integers(0, 14).map(lambda n: MADE + days(n)),
    created_on=st.just(MADE),
)
receipt_lists = st.lists(
    st.builds(
        Receipt,
        received_on=st.integers(-5, 30).map(lambda n: MADE + days(n)),
        amount=st.integers(1, 5_000_000),
    ),
    max_size=6,
)
RESOLVED = {PromiseStatus.KEPT, PromiseStatus.PARTLY_KEPT, PromiseStatus.BROKEN}
RANK = {PromiseStatus.BROKEN: 0, PromiseStatus.PARTLY_KEPT: 1, PromiseStatus.KEPT: 2}


@given(terms, receipt_lists, policies)
def test_exactly_one_outcome_once_the_pay_by_date_has_passed(
    promise: PromiseTerms, receipts: list[Receipt], policy: PromisePolicy
) -> None:
    after = pay_by(promise.promised_date, policy) + days(1)
    result = evaluate(promise, receipts, as_of=after, policy=policy)
    kept = result.paid >= kept_threshold(promise.amount, policy)
    broken = result.paid == 0
    partly = not kept and not broken
    assert [kept, partly, broken].count(True) == 1
    expected = (
        PromiseStatus.KEPT
        if kept
        else PromiseStatus.BROKEN
        if broken
        else PromiseStatus.PARTLY_KEPT
    )
    assert result.status is expected


@given(terms, receipt_lists, policies)
def test_an_outcome_once_reached_never_changes(
    promise: PromiseTerms, receipts: list[Receipt], policy: PromisePolicy
) -> None:
    """Day by day from the promise to well after its pay-by date: open, then one outcome."""
    last = pay_by(promise.promised_date, policy) + days(10)
    statuses = [
        evaluate(promise, receipts, as_of=MADE + days(n), policy=policy).status
        for n in range((last - MADE).days + 1)
    ]
    decided = [s for s in statuses if s is not PromiseStatus.OPEN]
    assert decided, "decided at the latest the day after the pay-by date"
    assert len(set(decided)) == 1
    first = statuses.index(decided[0])
    assert all(s is decided[0] for s in statuses[first:])
    assert statuses[-1] in RESOLVED


@given(terms, receipt_lists, receipt_lists, policies)
def test_more_money_never_makes_an_outcome_worse(
    promise: PromiseTerms, receipts: list[Receipt], more: list[Receipt], policy: PromisePolicy
) -> None:
    after = pay_by(promise.promised_date, policy) + days(1)
    before = evaluate(promise, receipts, as_of=after, policy=policy).status
    with_more = evaluate(promise, receipts + more, as_of=after, policy=policy).status
    assert RANK[with_more] >= RANK[before]


@given(terms, receipt_lists, policies)
def test_never_partly_kept_or_broken_before_the_pay_by_date_has_passed(
    promise: PromiseTerms, receipts: list[Receipt], policy: PromisePolicy
) -> None:
    deadline = pay_by(promise.promised_date, policy)
    for n in range((deadline - MADE).days + 1):
        status = evaluate(promise, receipts, as_of=MADE + days(n), policy=policy).status
        assert status in {PromiseStatus.OPEN, PromiseStatus.KEPT}


# --- the policy file ----------------------------------------------------------------------


class TestPolicyFile:
    def test_the_shipped_file_holds_the_documented_defaults(self) -> None:
        policy = load_promise_policy(ROOT / "config")
        assert policy.max_days_ahead == 14
        assert policy.min_share_of_overdue == Decimal("0.2")
        assert policy.kept_share == Decimal("0.95")
        assert policy.grace_days == 3
        assert policy.broken_in_a_row_to_escalate == 2

    def test_an_empty_file_means_the_defaults(self, tmp_path: Path) -> None:
        (tmp_path / "promises.yml").write_text("")
        assert load_promise_policy(tmp_path) == PromisePolicy()

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("max_days_ahead: -1\n", "max_days_ahead"),
            ("kept_share: 1.5\n", "kept_share"),
            ("grace_dayz: 3\n", "grace_dayz"),
            ("min_amount: {CNY: 10.005}\n", "more than 2 decimal places"),
            ("min_amount: {yuan: 10}\n", "ISO 4217"),
            ("max_days_ahead: [14\n", "not valid YAML"),
        ],
    )
    def test_a_bad_file_is_a_clear_error(self, tmp_path: Path, text: str, says: str) -> None:
        (tmp_path / "promises.yml").write_text(text)
        with pytest.raises(PolicyFileError, match=r"promises\.yml") as error:
            load_promise_policy(tmp_path)
        assert says in str(error.value)

    def test_the_backend_refuses_to_start_on_a_bad_file(self, tmp_path: Path) -> None:
        config = tmp_path / "config"
        shutil.copytree(ROOT / "config", config)  # every other policy file as shipped
        (config / "promises.yml").write_text("grace_days: many\n")
        settings = Settings(config_dir=config, database_url=f"sqlite:///{tmp_path / 'x.db'}")
        with pytest.raises(PolicyFileError, match=r"promises\.yml: grace_days"):
            create_app(settings)
