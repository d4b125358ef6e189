"""Outreach rules: which steps fire, variants, opt-out words, and the compliance decision, with
hand-checked cases and a simulated dispatcher run against the rules' promises."""

from __future__ import annotations

import heapq
import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.outreach.policy import ContactWindow, OutreachPolicy, Profile, Step
from backend.outreach.rules import (
    HANDOFF_RECHECK,
    HOLDS_THAT_DROP,
    NOT_DUE,
    History,
    LoanFacts,
    NotDue,
    Occasion,
    Verdict,
    assign_variant,
    borrower_zone,
    decide,
    due_occasions,
    is_opt_out,
    next_window_start,
    normalise_reply,
    occasion_dates,
    why_not_due,
    within_window,
)

TODAY = date(2026, 11, 28)
SCHEDULE = OutreachPolicy.model_validate(
    {
        "steps": [
            {"id": "before_due_3", "trigger": "before_due", "days": 3, "template": "t"},
            {"id": "before_due_1", "trigger": "before_due", "days": 1, "template": "t"},
            {"id": "on_due", "trigger": "on_due", "template": "t"},
            *(
                {"id": f"overdue_{n}", "trigger": "overdue", "days": n, "template": "t"}
                for n in (1, 3, 7, 15, 30)
            ),
            {"id": "promise_due_1", "trigger": "promise_due", "days": 1, "template": "t"},
            {"id": "promise_due_0", "trigger": "promise_due", "days": 0, "template": "t"},
            {"id": "promise_broken", "trigger": "promise_broken", "template": "t"},
            {"id": "arrangement_due_1", "trigger": "arrangement_due", "days": 1, "template": "t"},
            {"id": "arrangement_due_0", "trigger": "arrangement_due", "days": 0, "template": "t"},
        ]
    }
)
STEPS = SCHEDULE.steps
CURRENT = LoanFacts(
    loan_id=1,
    borrower_id=7,
    today=TODAY,
    paid_off=False,
    dpd=0,
    unpaid_due_dates=(),
    amount_due_on={},
    open_promise_date=None,
    promise_broken_on=None,
    arrangement_due_dates=(),
)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fired(facts: LoanFacts) -> list[tuple[str, date | None]]:
    return [(o.step_id, o.due_date) for o in due_occasions(facts, STEPS)]


class TestWhyAStepDoesNotFire:
    """Said on the Operations page's preview for a loan; mirrors which steps fire."""

    def why(self, facts: LoanFacts, step_id: str) -> NotDue | None:
        return why_not_due(facts, SCHEDULE.step(step_id))

    def test_a_step_that_fires_has_no_reason(self) -> None:
        late = replace(CURRENT, dpd=7, unpaid_due_dates=(TODAY - days(7),))
        assert self.why(late, "overdue_7") is None

    def test_each_trigger_says_why_not(self) -> None:
        late = replace(CURRENT, dpd=5, unpaid_due_dates=(TODAY - days(5),))
        assert self.why(late, "overdue_7") == NotDue("not_dpd", {"dpd": "5", "days": "7"})
        assert self.why(late, "before_due_3") == NotDue("already_late", {"dpd": "5"})
        assert self.why(CURRENT, "on_due") == NotDue("nothing_due_on", {"date": "2026-11-28"})
        assert self.why(CURRENT, "promise_due_1") == NotDue("no_open_promise", {})
        promised = replace(CURRENT, open_promise_date=TODAY + days(4))
        assert self.why(promised, "promise_due_1") == NotDue(
            "promise_on_other_day", {"promised": "2026-12-02", "date": "2026-11-29"}
        )
        assert self.why(CURRENT, "promise_broken") == NotDue(
            "not_broken_on", {"date": "2026-11-28"}
        )
        assert self.why(CURRENT, "arrangement_due_1") == NotDue("no_arrangement", {})
        planned = replace(CURRENT, arrangement_due_dates=(TODAY + days(9),))
        assert self.why(planned, "before_due_1") == NotDue("on_arrangement", {})
        assert self.why(replace(CURRENT, paid_off=True), "overdue_1") == NotDue("paid_off", {})

    def test_every_reason_is_a_known_code(self) -> None:
        facts = [CURRENT, replace(CURRENT, dpd=3), replace(CURRENT, paid_off=True)]
        codes = {w.code for f in facts for s in STEPS if (w := why_not_due(f, s)) is not None}
        assert codes <= set(NOT_DUE)


class TestWhichStepsFire:
    def test_three_days_and_one_day_before_a_due_date(self) -> None:
        due = TODAY + days(3)
        facts = replace(CURRENT, unpaid_due_dates=(due,), amount_due_on={due: 103_750})
        assert due_occasions(facts, STEPS) == [Occasion("before_due_3", TODAY, due)]
        tomorrow = replace(CURRENT, unpaid_due_dates=(TODAY + days(1),))
        assert fired(tomorrow) == [("before_due_1", TODAY + days(1))]

    def test_on_the_due_date(self) -> None:
        assert fired(replace(CURRENT, unpaid_due_dates=(TODAY,))) == [("on_due", TODAY)]

    def test_a_loan_already_late_hears_the_overdue_steps_not_the_next_due_date(self) -> None:
        late = replace(CURRENT, dpd=45, unpaid_due_dates=(TODAY - days(45), TODAY + days(3)))
        assert fired(late) == []

    def test_nothing_two_days_before(self) -> None:
        assert fired(replace(CURRENT, unpaid_due_dates=(TODAY + days(2),))) == []

    def test_each_later_unpaid_date_counts_on_its_own(self) -> None:
        facts = replace(CURRENT, unpaid_due_dates=(TODAY, TODAY + days(3), TODAY + days(31)))
        assert fired(facts) == [("before_due_3", TODAY + days(3)), ("on_due", TODAY)]

    @pytest.mark.parametrize("dpd", [1, 3, 7, 15, 30])
    def test_overdue_on_the_scheduled_days_past_due(self, dpd: int) -> None:
        facts = replace(CURRENT, dpd=dpd, unpaid_due_dates=(TODAY - days(dpd),))
        assert fired(facts) == [(f"overdue_{dpd}", TODAY - days(dpd))]

    @pytest.mark.parametrize("dpd", [2, 4, 8, 31, 90])
    def test_no_overdue_reminder_between_steps(self, dpd: int) -> None:
        assert fired(replace(CURRENT, dpd=dpd)) == []

    def test_the_day_before_and_the_day_of_a_promise(self) -> None:
        assert fired(replace(CURRENT, open_promise_date=TODAY + days(1))) == [
            ("promise_due_1", TODAY + days(1))
        ]
        assert fired(replace(CURRENT, open_promise_date=TODAY)) == [("promise_due_0", TODAY)]

    def test_the_day_a_promise_is_judged_broken(self) -> None:
        assert fired(replace(CURRENT, promise_broken_on=TODAY)) == [("promise_broken", None)]
        assert fired(replace(CURRENT, promise_broken_on=TODAY - days(1))) == []

    def test_arrangement_installments_instead_of_the_contracts(self) -> None:
        facts = replace(
            CURRENT,
            unpaid_due_dates=(TODAY, TODAY + days(1)),
            arrangement_due_dates=(TODAY + days(1), TODAY + days(31)),
        )
        assert fired(facts) == [("arrangement_due_1", TODAY + days(1))]
        on_the_day = replace(facts, arrangement_due_dates=(TODAY,))
        assert fired(on_the_day) == [("arrangement_due_0", TODAY)]

    def test_several_steps_on_one_day_in_schedule_order(self) -> None:
        facts = replace(CURRENT, dpd=3, open_promise_date=TODAY + days(1))
        assert fired(facts) == [("overdue_3", TODAY - days(3)), ("promise_due_1", TODAY + days(1))]

    def test_a_paid_off_loan_hears_nothing(self) -> None:
        facts = replace(
            CURRENT,
            paid_off=True,
            dpd=7,
            unpaid_due_dates=(TODAY,),
            open_promise_date=TODAY,
            promise_broken_on=TODAY,
            arrangement_due_dates=(TODAY,),
        )
        assert due_occasions(facts, STEPS) == []

    def test_the_occasion_is_today(self) -> None:
        facts = replace(CURRENT, dpd=1, open_promise_date=TODAY, unpaid_due_dates=(TODAY,))
        assert {o.occasion for o in due_occasions(facts, STEPS)} == {TODAY}


class TestOccasionDates:
    def test_the_dates_each_trigger_can_fire_for_today(self) -> None:
        assert occasion_dates(TODAY, STEPS) == {
            "before_due": {TODAY + days(3), TODAY + days(1)},
            "on_due": {TODAY},
            "overdue": {TODAY - days(n) for n in (1, 3, 7, 15, 30)},
            "promise_due": {TODAY + days(1), TODAY},
            "promise_broken": {TODAY},
            "arrangement_due": {TODAY + days(1), TODAY},
            "warning": set(),
        }

    def test_every_trigger_is_present_even_unused(self) -> None:
        assert occasion_dates(TODAY, STEPS[:1]) == {
            "before_due": {TODAY + days(3)},
            "on_due": set(),
            "overdue": set(),
            "promise_due": set(),
            "promise_broken": set(),
            "arrangement_due": set(),
            "warning": set(),
        }


dates_near = st.dates(min_value=TODAY - days(40), max_value=TODAY + days(40))


@given(
    dpd=st.integers(0, 40),
    unpaid=st.lists(dates_near, max_size=4),
    promise=st.none() | dates_near,
    broken=st.none() | dates_near,
    arrangement=st.lists(dates_near, max_size=3),
)
def test_the_planners_preselection_never_misses_a_loan(
    dpd: int,
    unpaid: list[date],
    promise: date | None,
    broken: date | None,
    arrangement: list[date],
) -> None:
    facts = replace(
        CURRENT,
        dpd=dpd,
        unpaid_due_dates=tuple(sorted(unpaid)),
        open_promise_date=promise,
        promise_broken_on=broken,
        arrangement_due_dates=tuple(sorted(arrangement)),
    )
    candidates = occasion_dates(TODAY, STEPS)
    by_id = {s.id: s for s in STEPS}
    for o in due_occasions(facts, STEPS):
        trigger = by_id[o.step_id].trigger
        concerning = facts.promise_broken_on if trigger == "promise_broken" else o.due_date
        assert concerning in candidates[trigger]


# --- champion / challenger ---------------------------------------------------------------------

TESTED = Step.model_validate(
    {
        "id": "overdue_1",
        "trigger": "overdue",
        "days": 1,
        "variants": [
            {"name": "champion", "template": "overdue_1", "share": "0.9"},
            {"name": "challenger", "template": "overdue_1_soft", "share": "0.1"},
        ],
    }
)


class TestVariants:
    def test_the_same_borrower_always_gets_the_same_variant(self) -> None:
        assert [assign_variant(b, TESTED).name for b in range(50)] == [
            assign_variant(b, TESTED).name for b in range(50)
        ]
        assert all(TESTED.variant_for(b) == assign_variant(b, TESTED) for b in range(50))

    def test_the_assignment_is_pinned(self) -> None:
        # sha256("overdue_1:<id>"): changing the hash would reshuffle running tests
        assert [b for b in range(1, 101) if assign_variant(b, TESTED).name == "challenger"] == (
            PINNED_CHALLENGERS
        )

    def test_about_ninety_ten_over_ten_thousand_borrowers(self) -> None:
        challengers = sum(assign_variant(b, TESTED).name == "challenger" for b in range(1, 10_001))
        assert 800 <= challengers <= 1200

    def test_steps_split_borrowers_independently(self) -> None:
        other = TESTED.model_copy(update={"id": "overdue_3"})
        first = {b for b in range(2000) if assign_variant(b, TESTED).name == "challenger"}
        second = {b for b in range(2000) if assign_variant(b, other).name == "challenger"}
        assert first != second and first & second

    def test_a_larger_challenger_share_keeps_its_borrowers(self) -> None:
        wider = TESTED.model_copy(
            update={
                "variants": (
                    TESTED.variants[0].model_copy(update={"share": Decimal("0.8")}),
                    TESTED.variants[1].model_copy(update={"share": Decimal("0.2")}),
                )
            }
        )
        before = {b for b in range(2000) if assign_variant(b, TESTED).name == "challenger"}
        after = {b for b in range(2000) if assign_variant(b, wider).name == "challenger"}
        assert before < after

    def test_one_template_is_one_champion(self) -> None:
        step = Step(id="on_due", trigger="on_due", template="on_due")
        variant = assign_variant(42, step)
        assert (variant.name, variant.template, variant.share) == ("champion", "on_due", 1)


PINNED_CHALLENGERS = [1, 6, 10, 19, 24, 29, 32, 34, 53, 76, 82]


# --- opting out -----------------------------------------------------------------------------

WORDS = {
    "en": ("stop", "stop all", "unsubscribe", "opt out"),
    "zh": ("退订", "取消订阅", "停止", "TD"),
}


class TestOptOut:
    @pytest.mark.parametrize(
        "text",
        [
            "stop",
            "STOP",
            "Stop.",
            " stop!! ",
            "ＳＴＯＰ",
            "s t o p",
            "stop 🙏",
            "\u200bstop\u200b",
            "stop stop",
            "Stop all",
            "UNSUBSCRIBE",
            "opt-out",
            "Opt out!",
            "退订",
            "退订。",
            "退 订",
            "【退订】",
            "退订！！",
            "取消订阅",
            "td",
            "T.D.",
        ],
    )
    def test_the_word_in_any_form_opts_out(self, text: str) -> None:
        assert is_opt_out(text, WORDS)

    @pytest.mark.parametrize(
        "text",
        [
            "don't stop helping me",
            "stopped",
            "bus stop",
            "stop calling me at work",
            "please help",
            "我要退订吗",
            "退订单",
            "不要停止",
            "",
            "   ",
            "!!!",
            "🙏",
        ],
    )
    def test_a_sentence_or_nothing_is_not_an_opt_out(self, text: str) -> None:
        assert not is_opt_out(text, WORDS)

    def test_a_word_counts_whatever_the_chats_language(self) -> None:
        assert is_opt_out("退订", {"en": ("stop",), "zh": ("退订",)})
        assert not is_opt_out("退订", {"en": ("stop",)})

    def test_normalising_keeps_letters_and_digits_only(self) -> None:
        assert normalise_reply(" ＳＴＯＰ!! 退 订。") == "stop退订"


wrapping = st.text(alphabet=" \t\n.,!?;:-_~*()[]【】。，！？、…“”🙏👍\u200b", max_size=4)


@given(
    before=wrapping, after=wrapping, word=st.sampled_from([w for ws in WORDS.values() for w in ws])
)
def test_wrapping_and_case_never_hide_an_opt_out(before: str, after: str, word: str) -> None:
    assert is_opt_out(before + word.upper() + after, WORDS)
    assert is_opt_out(before + word + after, WORDS)


# --- the compliance decision ----------------------------------------------------------------

DEFAULT = Profile()  # 08:00-21:00, 2 a day, 6 in 7 days
INDIA = Profile(window=ContactWindow(start=time(8), end=time(19)), timezone="Asia/Kolkata")
CHINA = Profile(timezone="Asia/Shanghai")
NOTHING_SENT = History(())
SH = "Asia/Shanghai"


def verdict(
    now: datetime,
    *,
    timezone: str = SH,
    profile: Profile = DEFAULT,
    sent: tuple[datetime, ...] = (),
    hold: str | None = None,
    occasion: date | None = None,
    valid_days: int = 1,
) -> Verdict:
    zone = borrower_zone(timezone, profile)
    return decide(
        now=now,
        timezone=timezone,
        profile=profile,
        history=History(sent),
        hold=hold,
        occasion=occasion or now.astimezone(zone).date(),
        valid_days=valid_days,
    )


def defer(reason: str, at: datetime) -> Verdict:
    return Verdict("defer", reason, at)


def drop(reason: str) -> Verdict:
    return Verdict("drop", reason, None)


SEND = Verdict("send", None, None)


class TestContactWindow:
    def test_2130_in_shanghai_waits_for_0800_next_day(self) -> None:
        now = utc(2026, 11, 28, 13, 30)  # 21:30 in Shanghai
        assert verdict(now) == defer("outside_window", utc(2026, 11, 29, 0, 0))

    def test_before_0800_waits_for_0800_the_same_day(self) -> None:
        now = utc(2026, 11, 27, 23, 59)  # 07:59 on the 28th in Shanghai
        assert verdict(now) == defer("outside_window", utc(2026, 11, 28, 0, 0))

    def test_the_window_includes_its_start_and_excludes_its_end(self) -> None:
        assert verdict(utc(2026, 11, 28, 0, 0)) == SEND  # 08:00
        assert verdict(utc(2026, 11, 28, 12, 59, 59)) == SEND  # 20:59:59
        assert verdict(utc(2026, 11, 28, 13, 0)).reason == "outside_window"  # 21:00

    def test_new_york_spring_forward(self) -> None:
        # 22:00 EST on Saturday 7 March; the clocks go forward that night, so 08:00 on Sunday
        # is EDT (UTC-4): 12:00 UTC, not 13:00.
        now = utc(2026, 3, 8, 3, 0)
        result = verdict(now, timezone="America/New_York", occasion=date(2026, 3, 7))
        assert result == defer("outside_window", utc(2026, 3, 8, 12, 0))

    def test_new_york_fall_back(self) -> None:
        # 22:00 EDT on Saturday 31 October; 08:00 on Sunday is EST (UTC-5): 13:00 UTC.
        now = utc(2026, 11, 1, 2, 0)
        result = verdict(now, timezone="America/New_York", occasion=date(2026, 10, 31))
        assert result == defer("outside_window", utc(2026, 11, 1, 13, 0))

    def test_chatham_is_twelve_hours_forty_five_ahead_in_winter(self) -> None:
        now = utc(2026, 6, 1, 10, 0)  # 22:45 on 1 June, UTC+12:45
        result = verdict(now, timezone="Pacific/Chatham", occasion=date(2026, 6, 1))
        assert result == defer("outside_window", utc(2026, 6, 1, 19, 15))  # 08:00 on 2 June

    def test_india_stops_at_1900(self) -> None:
        now = utc(2026, 11, 28, 14, 0)  # 19:30 in Kolkata
        result = verdict(now, timezone="Asia/Kolkata", profile=INDIA)
        assert result == defer("outside_window", utc(2026, 11, 29, 2, 30))  # 08:00 IST

    def test_within_window_reads_the_local_clock(self) -> None:
        window = DEFAULT.window
        zone = ZoneInfo(SH)
        assert within_window(datetime(2026, 1, 1, 8, 0, tzinfo=zone), window)
        assert not within_window(datetime(2026, 1, 1, 21, 0, tzinfo=zone), window)


class TestNextWindowStart:
    def test_later_today_or_tomorrow(self) -> None:
        window = DEFAULT.window
        assert next_window_start(utc(2026, 11, 27, 22, 0), SH, window) == utc(2026, 11, 28, 0)
        assert next_window_start(utc(2026, 11, 28, 0, 0), SH, window) == utc(2026, 11, 28, 0)
        assert next_window_start(utc(2026, 11, 28, 1, 0), SH, window) == utc(2026, 11, 29, 0)

    def test_a_start_the_clocks_jump_over_opens_at_the_jump(self) -> None:
        # 02:30 does not exist in New York on 8 March: the window opens at 03:00 EDT
        window = ContactWindow(start=time(2, 30), end=time(4, 0))
        now = utc(2026, 3, 8, 5, 0)  # midnight EST
        assert next_window_start(now, "America/New_York", window) == utc(2026, 3, 8, 7, 0)

    def test_a_window_the_clocks_jump_over_entirely_is_tomorrows(self) -> None:
        window = ContactWindow(start=time(2, 10), end=time(2, 50))
        now = utc(2026, 3, 8, 5, 0)
        # 02:10 EDT on 9 March
        assert next_window_start(now, "America/New_York", window) == utc(2026, 3, 9, 6, 10)

    def test_a_start_the_clocks_read_twice_opens_the_first_time(self) -> None:
        window = ContactWindow(start=time(1, 30), end=time(5, 0))
        now = utc(2026, 11, 1, 4, 0)  # midnight EDT; 01:30 comes at 05:30 and 06:30 UTC
        assert next_window_start(now, "America/New_York", window) == utc(2026, 11, 1, 5, 30)

    def test_an_unknown_zone_is_utc(self) -> None:
        window = DEFAULT.window
        assert next_window_start(utc(2026, 1, 1, 22), "Mars/Olympus", window) == utc(2026, 1, 2, 8)


class TestCaps:
    def test_the_days_cap_waits_for_the_next_local_morning(self) -> None:
        sent = (utc(2026, 11, 28, 1, 0), utc(2026, 11, 28, 2, 0))  # 09:00, 10:00 Shanghai
        result = verdict(utc(2026, 11, 28, 3, 0), sent=sent)
        assert result == defer("daily_cap", utc(2026, 11, 29, 0, 0))

    def test_the_day_is_the_borrowers_local_day(self) -> None:
        # 23:30 and 23:59 on the 27th in Shanghai, though the 28th is already under way in UTC
        sent = (utc(2026, 11, 27, 15, 30), utc(2026, 11, 27, 15, 59))
        assert verdict(utc(2026, 11, 28, 1, 0), sent=sent) == SEND
        # ... and two messages on the same UTC date but different local days count apart
        sent = (utc(2026, 11, 28, 15, 0), utc(2026, 11, 28, 17, 0))  # 23:00 28th, 01:00 29th
        assert verdict(utc(2026, 11, 29, 1, 0), sent=sent) == SEND

    def test_the_weeks_cap_waits_until_the_oldest_has_left_the_week(self) -> None:
        sent = tuple(utc(2026, 11, d, 2, 0) for d in range(21, 27))  # 10:00 on six days
        result = verdict(utc(2026, 11, 27, 3, 0), sent=sent, valid_days=3)
        assert result == defer("weekly_cap", utc(2026, 11, 28, 2, 0))

    def test_the_week_is_seven_times_24_hours_then_into_the_window(self) -> None:
        sent = (utc(2026, 11, 21, 13, 30), *(utc(2026, 11, d, 2, 0) for d in range(22, 27)))
        # the oldest (21:30 on the 21st) leaves the week at 21:30 on the 28th: after hours
        result = verdict(utc(2026, 11, 27, 3, 0), sent=sent, valid_days=3)
        assert result == defer("weekly_cap", utc(2026, 11, 29, 0, 0))

    def test_a_week_spanning_a_clock_change_is_still_168_hours(self) -> None:
        zone = "America/New_York"
        sent = tuple(utc(2026, 11, d, 15, 0) for d in range(1, 7))  # includes the fall back
        result = verdict(utc(2026, 11, 7, 16, 0), timezone=zone, sent=sent, valid_days=2)
        assert result == defer("weekly_cap", utc(2026, 11, 8, 15, 0))

    def test_a_cap_reached_past_validity_expires_the_reminder(self) -> None:
        sent = (utc(2026, 11, 28, 1, 0), utc(2026, 11, 28, 2, 0))
        assert verdict(utc(2026, 11, 28, 3, 0), sent=sent, valid_days=0) == drop("expired")


class TestHolds:
    @pytest.mark.parametrize("hold", sorted(HOLDS_THAT_DROP))
    def test_these_holds_drop_the_reminder(self, hold: str) -> None:
        assert verdict(utc(2026, 11, 28, 2, 0), hold=hold) == drop(hold)

    def test_a_hold_is_reported_before_expiry(self) -> None:
        late = utc(2026, 12, 5, 2, 0)
        assert verdict(late, hold="opt_out", occasion=TODAY) == drop("opt_out")

    def test_a_live_handoff_defers_half_an_hour(self) -> None:
        now = utc(2026, 11, 28, 2, 0)
        assert verdict(now, hold="live_handoff") == defer("live_handoff", now + HANDOFF_RECHECK)

    def test_a_live_handoff_near_closing_time_waits_for_the_morning(self) -> None:
        now = utc(2026, 11, 28, 12, 45)  # 20:45 Shanghai
        assert verdict(now, hold="live_handoff") == defer("live_handoff", utc(2026, 11, 29))

    def test_a_live_handoff_on_the_last_valid_evening_expires_it(self) -> None:
        now = utc(2026, 11, 28, 12, 45)
        assert verdict(now, hold="live_handoff", valid_days=0) == drop("expired")

    def test_an_unknown_hold_is_a_mistake_not_a_send(self) -> None:
        with pytest.raises(ValueError, match="unknown hold"):
            verdict(utc(2026, 11, 28, 2, 0), hold="vacation")


class TestValidity:
    def test_sends_inside_everything(self) -> None:
        assert verdict(utc(2026, 11, 28, 2, 0), occasion=TODAY) == SEND

    def test_after_the_last_valid_local_day_it_expires(self) -> None:
        now = utc(2026, 11, 30, 2, 0)
        assert verdict(now, occasion=TODAY, valid_days=1) == drop("expired")
        assert verdict(now, occasion=TODAY, valid_days=2) == SEND

    def test_the_last_day_is_the_borrowers_local_day(self) -> None:
        # 07:30 on the 29th in Shanghai is still the 28th in UTC: only the 28th is valid
        now = utc(2026, 11, 28, 23, 30)
        assert verdict(now, occasion=TODAY, valid_days=0) == drop("expired")

    def test_outside_the_window_on_the_last_evening_expires(self) -> None:
        now = utc(2026, 11, 28, 13, 30)  # 21:30
        assert verdict(now, occasion=TODAY, valid_days=0) == drop("expired")

    def test_never_before_the_occasions_local_day(self) -> None:
        # The business date is the 28th; in Los Angeles it is still 17:00 on the 27th.
        now = utc(2026, 11, 28, 1, 0)
        result = verdict(now, timezone="America/Los_Angeles", occasion=TODAY, valid_days=0)
        assert result == defer("outside_window", utc(2026, 11, 28, 16, 0))  # 08:00 PST


class TestTimeZones:
    def test_an_unknown_zone_falls_back_to_the_profiles(self) -> None:
        now = utc(2026, 11, 28, 13, 30)  # 21:30 in Shanghai, 13:30 in UTC
        result = verdict(now, timezone="Asia/Beijing", profile=CHINA, occasion=TODAY)
        assert result == defer("outside_window", utc(2026, 11, 29, 0, 0))

    def test_then_to_utc(self) -> None:
        now = utc(2026, 11, 28, 13, 30)
        assert verdict(now, timezone="", profile=DEFAULT, occasion=TODAY) == SEND
        assert borrower_zone("nonsense") == ZoneInfo("UTC")

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            verdict(datetime(2026, 11, 28, 2, 0), occasion=TODAY)
        with pytest.raises(ValueError, match="naive"):
            verdict(utc(2026, 11, 28, 2, 0), sent=(datetime(2026, 11, 28, 1, 0),))


# --- properties: a simulated dispatcher ------------------------------------------------------

ZONES = [
    "Asia/Shanghai",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "Pacific/Chatham",
    "Asia/Singapore",
    "UTC",
]
CLOCK_CHANGES = [  # 2026
    utc(2026, 3, 8, 7),
    utc(2026, 11, 1, 6),  # New York
    utc(2026, 3, 29, 1),
    utc(2026, 10, 25, 1),  # London
    utc(2026, 4, 4, 14),
    utc(2026, 9, 26, 14),  # Chatham
]
HOLD_CHOICES = [None, None, None, "live_handoff", "opt_out", "distress", "dispute", "hardship_hold"]


def _clock(minute: int) -> time:
    return time(minute // 60, minute % 60)


@st.composite
def windows(draw: st.DrawFn) -> ContactWindow:
    if draw(st.booleans()):
        start, end = draw(st.sampled_from([(8, 21), (8, 19), (8, 20), (6, 22), (9, 17)]))
        return ContactWindow(start=time(start), end=time(end))
    start = draw(st.integers(0, 24 * 60 - 2))
    end = draw(st.integers(start + 1, 24 * 60 - 1))
    return ContactWindow(start=_clock(start), end=_clock(end))


profiles = st.builds(
    Profile,
    window=windows(),
    max_per_day=st.integers(1, 4),
    max_per_7_days=st.integers(1, 10),
)
clocks = st.one_of(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(CLOCK_CHANGES),
        st.integers(-2 * 24 * 60, 2 * 24 * 60),
    ),
)
reminders = st.lists(
    st.tuples(
        st.integers(0, 3 * 24 * 60),  # arrives this many minutes after the clock's start
        st.integers(-1, 1),  # its occasion, relative to the borrower's local date then
        st.integers(0, 3),  # valid_days
        st.lists(st.sampled_from(HOLD_CHOICES), max_size=3),  # the hold at each attempt
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300)
@given(
    zone_name=st.sampled_from(ZONES),
    profile=profiles,
    start=clocks,
    earlier=st.lists(st.integers(1, 10 * 24 * 60), max_size=12),
    planned=reminders,
    rnd=st.randoms(use_true_random=False),
)
def test_a_dispatcher_following_the_rules_never_breaks_them(
    zone_name: str,
    profile: Profile,
    start: datetime,
    earlier: list[int],
    planned: list[tuple[int, int, int, list[str | None]]],
    rnd: random.Random,
) -> None:
    zone = ZoneInfo(zone_name)
    window = profile.window
    sent = [start - timedelta(minutes=m) for m in earlier]
    queue: list[tuple[datetime, int, int]] = []
    occasions = []
    for i, (arrives, shift, _, _) in enumerate(planned):
        at = start + timedelta(minutes=arrives)
        occasions.append(at.astimezone(zone).date() + timedelta(days=shift))
        heapq.heappush(queue, (at, i, 0))

    def local(moment: datetime) -> datetime:
        return moment.astimezone(zone)

    def ask(now: datetime, hold: str | None, i: int, valid_days: int | None = None) -> Verdict:
        return decide(
            now=now,
            timezone=zone_name,
            profile=profile,
            history=History(tuple(sent)),
            hold=hold,
            occasion=occasions[i],
            valid_days=planned[i][2] if valid_days is None else valid_days,
        )

    while queue:
        now, i, attempt = heapq.heappop(queue)
        assert attempt < 100, "a reminder kept being deferred"
        _, _, valid_days, holds = planned[i]
        hold = holds[attempt] if attempt < len(holds) else None
        last_day = occasions[i] + timedelta(days=valid_days)
        result = ask(now, hold, i)

        if result.action == "send":
            assert (result.reason, result.not_before) == (None, None)
            assert hold is None
            assert window.start <= local(now).time() < window.end
            assert occasions[i] <= local(now).date() <= last_day
            sent.append(now)
            same_day = [s for s in sent if local(s).date() == local(now).date()]
            assert len(same_day) <= profile.max_per_day
            in_week = [s for s in sent if now - timedelta(days=7) < s <= now]
            assert len(in_week) <= profile.max_per_7_days

        elif result.action == "defer":
            later = result.not_before
            assert later is not None
            assert hold in (None, "live_handoff")
            assert later > now
            assert window.start <= local(later).time() < window.end
            assert occasions[i] <= local(later).date() <= last_day
            # the moment named is allowed: with nothing else sent meanwhile, it goes then
            assert ask(later, None, i) == SEND
            if hold == "live_handoff":
                assert result.reason == "live_handoff"
                assert later >= now + HANDOFF_RECHECK
            else:
                # ... and it is the first: from anywhere before it, the answer is the same wait
                probe = min(now + (later - now) * rnd.random(), later - timedelta(microseconds=1))
                assert ask(probe, None, i).not_before == later
            heapq.heappush(queue, (later, i, attempt + 1))

        else:
            assert result.not_before is None
            if result.reason in HOLDS_THAT_DROP:
                assert hold == result.reason
            else:
                assert result.reason == "expired"
                assert hold in (None, "live_handoff")
                # no allowed moment is left before the last valid local day ends
                longer = ask(now, hold, i, valid_days=valid_days + 30)
                assert local(now).date() > last_day or (
                    longer.not_before is not None and local(longer.not_before).date() > last_day
                )


class TestWarningSteps:
    """A step may answer an early warning: the morning after the snapshot day a loan was
    flagged on with one of the step's signals."""

    STEP = Step.model_validate(
        {
            "id": "early_warning",
            "trigger": "warning",
            "signals": ["partial_payment", "paying_later"],
            "template": "t",
        }
    )

    def test_fires_on_the_day_of_a_matching_flag(self) -> None:
        flagged = replace(CURRENT, warned_on=TODAY, warning_signals=("paying_later",))
        assert due_occasions(flagged, [self.STEP]) == [Occasion("early_warning", TODAY, None)]
        assert why_not_due(flagged, self.STEP) is None

    def test_not_for_another_signal_nor_another_day(self) -> None:
        other = replace(CURRENT, warned_on=TODAY, warning_signals=("opted_out",))
        yesterday = replace(
            CURRENT, warned_on=TODAY - timedelta(days=1), warning_signals=("paying_later",)
        )
        for facts in (other, yesterday, CURRENT):
            assert due_occasions(facts, [self.STEP]) == []
            assert why_not_due(facts, self.STEP) == NotDue(
                "not_warned_on",
                {"date": TODAY.isoformat(), "signals": "partial_payment, paying_later"},
            )

    def test_occasion_dates_look_back(self) -> None:
        later = self.STEP.model_copy(update={"days": 2})
        assert occasion_dates(TODAY, [later])["warning"] == {TODAY - timedelta(days=2)}

    @pytest.mark.parametrize(
        ("step", "problem"),
        [
            ({"trigger": "warning"}, "names its signals"),
            ({"trigger": "overdue", "days": 1, "signals": ["opted_out"]}, "names its signals"),
            ({"trigger": "warning", "signals": ["grumpy"]}, "unknown signal 'grumpy'"),
        ],
    )
    def test_the_schedule_checks_signals(self, step: dict[str, object], problem: str) -> None:
        with pytest.raises(ValueError, match=problem):
            Step.model_validate({"id": "s", "template": "t", **step})
