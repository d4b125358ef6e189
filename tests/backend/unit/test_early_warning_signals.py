"""The early-warning signals (pure): each fires on its own facts with its figures, a quiet loan
fires none whatever the thresholds, a stricter threshold never flags more, and the order is the
file's priority."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.early_warning.policy import MonitoringPolicy, load_monitoring_policy
from backend.early_warning.signals import LoanFacts, signals
from backend.policy_files import PolicyFileError, load_policy

DAY = date(2026, 11, 28)
SHIPPED = load_monitoring_policy(Path(__file__).parents[3] / "config")
QUIET = LoanFacts(
    loan_id=1,
    borrower_id=1,
    currency="CNY",
    as_of=DAY,
    dpd=0,
    overdue=0,
    total=100_000,
    arrangement=None,
    first_due=date(2026, 6, 1),
)


def codes(facts: LoanFacts, policy: MonitoringPolicy = SHIPPED) -> list[str]:
    return [s.code for s in signals(facts, policy)]


def policy(**rules: dict[str, Any]) -> MonitoringPolicy:
    return MonitoringPolicy.model_validate({"signals": rules})


class TestEachSignal:
    def test_a_quiet_loan_fires_nothing(self) -> None:
        assert codes(QUIET) == []

    def test_first_payment_missed_only_when_the_oldest_unpaid_is_the_first(self) -> None:
        first = DAY - timedelta(days=4)
        missed = replace(QUIET, dpd=4, overdue=500, first_due=first)
        [signal] = signals(missed, policy(first_payment_missed={}))
        assert signal.figures == {"due_date": first.isoformat(), "dpd": 4}
        # Four days past due, but on a later installment: it paid the first.
        assert codes(replace(missed, first_due=first - timedelta(days=30))) == []
        # Never paid, but long ago: past early warning.
        long_ago = replace(missed, dpd=31, first_due=DAY - timedelta(days=31))
        assert codes(long_ago, policy(first_payment_missed={"max_dpd": 30})) == []

    def test_partial_payment_is_paid_but_still_past_due(self) -> None:
        facts = replace(QUIET, dpd=10, overdue=900, paid_recent=300)
        [signal] = signals(facts, policy(partial_payment={"days": 7}))
        assert signal.figures == {
            "paid_minor": 300,
            "overdue_minor": 900,
            "currency": "CNY",
            "days": 7,
        }
        assert codes(replace(facts, overdue=0), policy(partial_payment={"days": 7})) == []

    def test_paying_later_needs_a_payment_every_month_and_a_rise(self) -> None:
        rule = policy(paying_later={"months": 3, "min_rise_days": 3})
        later = replace(QUIET, months=((1, 500), (3, 500), (6, 500)))
        assert signals(later, rule)[0].figures == {"worst_dpd": [1, 3, 6]}
        assert codes(replace(later, months=((1, 500), (3, 0), (6, 500))), rule) == []  # stopped
        assert codes(replace(later, months=((1, 500), (3, 500), (3, 500))), rule) == []  # flat
        assert codes(replace(later, months=((1, 500), (2, 500), (3, 500))), rule) == []  # +2 only
        assert codes(replace(later, months=((1, 500), (6, 500))), rule) == []  # a month unknown

    def test_charges_jump_is_a_share_of_what_was_owed(self) -> None:
        rule = policy(charges_jump={"days": 7, "min_share": "0.02"})
        facts = replace(QUIET, dpd=40, overdue=5000, charges_rise=200, total_before=10_000)
        assert signals(facts, rule)[0].figures["charges_minor"] == 200
        assert codes(replace(facts, charges_rise=199), rule) == []
        assert codes(replace(facts, total_before=None), rule) == []

    def test_events(self) -> None:
        facts = replace(
            QUIET,
            broken_promise=(DAY - timedelta(days=2), 1500),
            failed_messages=2,
            unanswered_reminders=3,
            opted_out_on=DAY,
            contact_changed_on=DAY - timedelta(days=1),
            arrangement="installment",
            overdue=700,
            dpd=3,
        )
        assert codes(facts) == [
            "promise_broken",
            "arrangement_at_risk",
            "messages_failing",
            "unanswered",
            "opted_out",
            "contact_changed",
        ]


@st.composite
def any_facts(draw: st.DrawFn) -> LoanFacts:
    dpd = draw(st.integers(0, 400))
    return replace(
        QUIET,
        dpd=dpd,
        overdue=draw(st.integers(0, 10**8)) if dpd else 0,
        arrangement=draw(st.sampled_from([None, "installment", "settlement"])),
        first_due=DAY - timedelta(days=draw(st.integers(0, 400))),
        paid_recent=draw(st.integers(0, 10**6)),
        months=tuple((draw(st.integers(0, 120)), draw(st.integers(0, 10**6))) for _ in range(3)),
        broken_promise=draw(st.none() | st.just((DAY, 100))),
        charges_rise=draw(st.integers(0, 10**6)),
        total_before=draw(st.none() | st.integers(1, 10**8)),
        failed_messages=draw(st.integers(0, 20)),
        unanswered_reminders=draw(st.integers(0, 20)),
        opted_out_on=draw(st.none() | st.just(DAY)),
        contact_changed_on=draw(st.none() | st.just(DAY)),
    )


@given(
    st.integers(1, 90),
    st.integers(2, 12),
    st.integers(1, 180),
    st.integers(1, 100),
    st.integers(1, 100),
    st.decimals("0.001", "1", places=3),
)
def test_a_loan_with_nothing_happening_fires_nothing_whatever_the_thresholds(
    days: int, months: int, rise: int, failed: int, reminders: int, share: Any
) -> None:
    every = policy(
        first_payment_missed={},
        promise_broken={"days": days},
        arrangement_at_risk={},
        partial_payment={"days": days},
        paying_later={"months": months, "min_rise_days": rise},
        charges_jump={"days": days, "min_share": share},
        messages_failing={"days": days, "min_failed": failed},
        unanswered={"days": days, "min_reminders": reminders},
        opted_out={"days": days},
        contact_changed={"days": days},
    )
    assert codes(QUIET, every) == []


@given(any_facts(), st.integers(1, 20), st.integers(0, 20))
def test_a_stricter_threshold_never_flags_more(facts: LoanFacts, low: int, more: int) -> None:
    for name, rule in (("messages_failing", "min_failed"), ("unanswered", "min_reminders")):
        loose = codes(facts, policy(**{name: {"days": 7, rule: low}}))
        strict = codes(facts, policy(**{name: {"days": 7, rule: low + more}}))
        assert set(strict) <= set(loose)
    loose = codes(facts, policy(charges_jump={"days": 7, "min_share": "0.01"}))
    strict = codes(facts, policy(charges_jump={"days": 7, "min_share": "0.05"}))
    assert set(strict) <= set(loose)


@given(any_facts())
def test_signals_come_in_the_files_order_and_a_removed_one_never_fires(facts: LoanFacts) -> None:
    fired = codes(facts)
    assert fired == [c for c in SHIPPED.order if c in fired]
    for code in SHIPPED.order:
        without = MonitoringPolicy.model_validate(
            {"signals": {c: r.model_dump() for c, r in SHIPPED.signals.items() if c != code}}
        )
        assert codes(facts, without) == [c for c in fired if c != code]


def test_the_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "monitoring.yml"
    bad.write_text("signals:\n  paying_sooner: {}\n", encoding="utf-8")
    with pytest.raises(PolicyFileError, match="unknown signal 'paying_sooner'"):
        load_policy(bad, MonitoringPolicy)
    bad.write_text("signals:\n  unanswered: {days: 7, min_replies: 2}\n", encoding="utf-8")
    with pytest.raises(PolicyFileError, match="min_replies"):
        load_policy(bad, MonitoringPolicy)
