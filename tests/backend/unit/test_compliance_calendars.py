"""Days, jurisdictions and the borrower's own wishes in the reminder rules: weekdays, public
holidays, the lender's quiet periods, limits by days past due, contact preferences that only
narrow, the record of every rule's verdict, and the oracle check that covers them all."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.config import ROOT
from backend.outreach import compliance_check, rules
from backend.outreach.policy import (
    ContactPreference,
    ContactWindow,
    DpdRule,
    Profile,
    QuietPeriod,
    load_compliance,
)
from backend.outreach.preference_text import ANY_TIME, describe, merged, read_preference
from backend.outreach.rules import SEND, History, checks, closed_day, decide

SHIPPED = load_compliance(ROOT / "config")
ID, CN, PH, GB = (SHIPPED.profiles[n] for n in ("ID", "CN", "PH", "GB"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def ask(now: datetime, profile: Profile, zone: str, occasion: date, **kw: object) -> rules.Verdict:
    return decide(
        now=now,
        timezone=zone,
        profile=profile,
        history=History(tuple(kw.pop("sent", ()))),  # type: ignore[arg-type]
        hold=None,
        occasion=occasion,
        valid_days=kw.pop("valid_days", 3),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


class TestIndonesia:
    """POJK 22/2023 art. 62: Monday to Saturday, 08:00-20:00 local, not on public holidays."""

    def test_a_sunday_waits_for_monday_at_eight_in_jakarta(self):
        sunday = date(2026, 12, 6)
        verdict = ask(utc(2026, 12, 6, 3), ID, "Asia/Jakarta", sunday)  # 10:00 WIB
        assert (verdict.action, verdict.reason) == ("defer", "rest_day")
        assert verdict.not_before == utc(2026, 12, 7, 1)  # Monday 08:00 WIB

    def test_saturday_is_a_working_day(self):
        assert ask(utc(2026, 12, 5, 3), ID, "Asia/Jakarta", date(2026, 12, 5)) == SEND

    def test_christmas_is_a_public_holiday_and_the_weekend_follows(self):
        verdict = ask(utc(2026, 12, 25, 3), ID, "Asia/Jakarta", date(2026, 12, 25))
        assert (verdict.action, verdict.reason) == ("defer", "public_holiday")
        assert verdict.not_before == utc(2026, 12, 26, 1)  # Saturday 08:00 WIB

    def test_a_hold_past_validity_expires(self):
        verdict = ask(utc(2026, 12, 6, 3), ID, "Asia/Jakarta", date(2026, 12, 6), valid_days=0)
        assert (verdict.action, verdict.reason) == ("drop", "expired")

    def test_the_closed_day_is_the_borrowers_local_one(self):
        # Sunday 23:30 UTC is Monday 06:30 in Jakarta: not Sunday there, only too early
        verdict = ask(utc(2026, 12, 6, 23, 30), ID, "Asia/Jakarta", date(2026, 12, 6))
        assert (verdict.action, verdict.reason) == ("defer", "outside_window")


class TestSpringFestival:
    """The lender's quiet period (config/compliance.yml): from the day before Chinese New
    Year's eve to three days after its last day, in the CN profile only."""

    def test_no_reminder_in_shanghai_during_the_festival(self):
        for day in (date(2027, 2, 4), date(2027, 2, 6), date(2027, 2, 13)):
            noon = datetime.combine(day, time(4), UTC)  # 12:00 in Shanghai
            verdict = ask(noon, CN, "Asia/Shanghai", day, valid_days=31)
            assert (verdict.action, verdict.reason) == ("defer", "quiet_period"), day
            assert verdict.not_before == utc(2027, 2, 14, 0)  # 14 Feb, 08:00 in Shanghai

    def test_the_days_around_it_are_open(self):
        assert ask(utc(2027, 2, 3, 4), CN, "Asia/Shanghai", date(2027, 2, 3)) == SEND
        assert closed_day(date(2027, 2, 14), CN) is None

    def test_other_profiles_do_not_pause(self):
        assert closed_day(date(2027, 2, 6), SHIPPED.profiles["SG"]) is None

    def test_it_follows_the_calendar_every_year(self):
        assert closed_day(date(2026, 2, 17), CN) == "quiet_period"  # New Year's day 2026
        assert closed_day(date(2028, 1, 26), CN) == "quiet_period"  # and 2028

    def test_dated_periods(self):
        period = QuietPeriod.model_validate(
            {"name": "move", "from": "2026-12-24", "to": "2026-12-26"}
        )
        profile = Profile(quiet_periods=(period,))
        assert [closed_day(date(2026, 12, d), profile) for d in (23, 24, 26, 27)] == [
            None,
            "quiet_period",
            "quiet_period",
            None,
        ]


class TestPhilippines:
    """SEC MC 18 s.2019: 06:00-22:00 up to 15 days past due."""

    def test_2130_in_manila_goes_where_the_default_profile_would_wait(self):
        at_2130 = utc(2026, 5, 5, 13, 30)
        assert ask(at_2130, PH, "Asia/Manila", date(2026, 5, 5), dpd=20) == SEND
        held = ask(at_2130, SHIPPED.profiles["default"], "Asia/Manila", date(2026, 5, 5))
        assert held.reason == "outside_window"

    def test_2230_waits_for_six(self):
        verdict = ask(utc(2026, 5, 5, 14, 30), PH, "Asia/Manila", date(2026, 5, 5), dpd=20)
        assert (verdict.reason, verdict.not_before) == ("outside_window", utc(2026, 5, 5, 22))

    def test_the_limits_change_after_fifteen_days_past_due(self):
        sent = (utc(2026, 5, 5, 1),)  # 09:00 Manila
        noon = utc(2026, 5, 5, 4)
        assert ask(noon, PH, "Asia/Manila", date(2026, 5, 5), dpd=15, sent=sent).reason == (
            "daily_cap"
        )
        assert ask(noon, PH, "Asia/Manila", date(2026, 5, 5), dpd=16, sent=sent) == SEND


class TestUnitedKingdom:
    def test_no_sunday_and_no_bank_holiday(self):
        assert closed_day(date(2026, 12, 6), GB) == "rest_day"
        assert closed_day(date(2026, 12, 28), GB) == "public_holiday"  # Boxing Day, observed
        assert closed_day(date(2026, 12, 29), GB) is None


class TestPreferences:
    def test_no_weekends_defers_a_saturday_reminder_to_monday(self):
        wish = read_preference("周末别发")
        saturday = date(2026, 12, 5)
        verdict = ask(utc(2026, 12, 5, 2), CN, "Asia/Shanghai", saturday, preference=wish)
        assert (verdict.action, verdict.reason) == ("defer", "preference")
        assert verdict.not_before == utc(2026, 12, 7, 0)  # Monday 08:00

    def test_a_preference_never_widens_the_profile(self):
        wish = ContactPreference(window=ContactWindow(start=time(6), end=time(23)))
        verdict = ask(utc(2026, 12, 3, 23), CN, "Asia/Shanghai", date(2026, 12, 4), preference=wish)
        assert verdict.reason == "outside_window"  # 07:00 local: the profile's own rule first
        narrowed = CN.narrowed(wish)
        assert narrowed is not None and narrowed.window == CN.window

    def test_evenings_only(self):
        wish = read_preference("只在晚上联系我")
        verdict = ask(utc(2026, 12, 3, 2), CN, "Asia/Shanghai", date(2026, 12, 3), preference=wish)
        assert (verdict.reason, verdict.not_before) == ("preference", utc(2026, 12, 3, 10))

    def test_a_wish_that_leaves_no_time_drops_the_reminder(self):
        wish = ContactPreference(window=ContactWindow(start=time(5), end=time(7)))
        verdict = ask(utc(2026, 12, 3, 2), CN, "Asia/Shanghai", date(2026, 12, 3), preference=wish)
        assert (verdict.action, verdict.reason) == ("drop", "preference")

    @pytest.mark.parametrize(
        ("said", "days", "window"),
        [
            ("周末别发", ("mon", "tue", "wed", "thu", "fri"), None),
            ("周末不要联系我", ("mon", "tue", "wed", "thu", "fri"), None),
            ("只在周末联系", ("sat", "sun"), None),
            ("周日不要发消息", ("mon", "tue", "wed", "thu", "fri", "sat"), None),
            ("只在晚上联系我", None, (time(18), time(23, 59))),
            ("晚上7点以后再联系", None, (time(19), time(23, 59))),
            ("上班时间别打扰我", None, (time(18), time(23, 59))),
            ("don't message me at work", None, (time(18), time(23, 59))),
            ("no messages on weekends please", ("mon", "tue", "wed", "thu", "fri"), None),
            ("only after 7pm", None, (time(19), time(23, 59))),
            ("not before 9am", None, (time(9), time(23, 59))),
            (
                "weekdays 18:00-20:00 only",
                ("mon", "tue", "wed", "thu", "fri"),
                (time(18), time(20)),
            ),
        ],
    )
    def test_what_borrowers_say(self, said: str, days: tuple[str, ...] | None, window: object):
        wish = read_preference(said)
        assert wish is not None
        assert wish.days == days
        got = (wish.window.start, wish.window.end) if wish.window else None
        assert got == window

    def test_any_time_withdraws_the_wish_and_also_adds_the_days_back(self):
        assert read_preference("随时都可以联系我") == ANY_TIME
        assert read_preference("any time is fine") == ANY_TIME
        assert describe(ANY_TIME) == {"zh": "任何时间", "en": "any time"}
        weekdays = read_preference("周末别发")
        evenings = read_preference("晚上7点以后")
        assert weekdays is not None and evenings is not None
        both = merged(weekdays, evenings)
        assert describe(both) == {"zh": "工作日 19:00以后", "en": "weekdays after 19:00"}
        again = read_preference("周末也可以发")
        assert again is not None
        assert describe(merged(both, again))["en"] == "after 19:00"

    @pytest.mark.parametrize("said", ["我的电话换了", "my new number is 13800138000", "hello"])
    def test_words_with_no_time_or_day_are_not_a_preference(self, said: str):
        assert read_preference(said) is None

    def test_described_in_both_languages(self):
        wish = read_preference("周末别发")
        assert wish is not None
        assert describe(wish) == {"zh": "工作日", "en": "weekdays"}


class TestTheRecord:
    def test_every_rule_has_its_verdict(self):
        found = checks(
            now=utc(2026, 12, 6, 3),
            timezone="Asia/Jakarta",
            profile=ID,
            history=History((utc(2026, 12, 5, 3),)),
            hold=None,
            occasion=date(2026, 12, 6),
            valid_days=1,
        )
        assert found == {
            "hold": "none",
            "local_time": "2026-12-06T10:00+07:00",
            "valid_until": "2026-12-07",
            "validity": "ok",
            "day": "rest_day",
            "window": "ok 08:00-20:00",
            "preference": "none",
            "daily_cap": "ok 0/2",
            "weekly_cap": "ok 1/6",
        }


class TestChoosingTheProfile:
    def test_the_contract_comes_first(self):
        choice = SHIPPED.choose(contract="PH", phone_e164="+8613800138000")
        assert (choice.name, choice.region, choice.source) == ("PH", "PH", "contract")

    def test_a_contract_jurisdiction_without_a_profile_is_the_default(self):
        choice = SHIPPED.choose(contract="US", phone_e164="+8613800138000")
        assert (choice.name, choice.region, choice.source) == ("default", "US", "contract")

    def test_then_the_phone_number(self):
        choice = SHIPPED.choose(contract=None, phone_e164="+6281234567890")
        assert (choice.name, choice.source) == ("ID", "phone")
        assert SHIPPED.choose(contract=None, phone_e164="nonsense").source == "default"


class TestPolicyFile:
    def test_unknown_weekday_or_country_is_refused(self):
        with pytest.raises(ValidationError, match="unknown day 'sunday'"):
            Profile(days=("sunday",))  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="no public-holiday calendar for 'XX'"):
            Profile(holidays="XX")

    def test_a_quiet_period_is_dates_or_a_holiday(self):
        with pytest.raises(ValidationError, match="either from and to, or holiday"):
            QuietPeriod.model_validate({"name": "x"})
        with pytest.raises(ValidationError, match=r"ends .* before it starts"):
            QuietPeriod.model_validate({"name": "x", "from": "2026-02-02", "to": "2026-02-01"})
        with pytest.raises(ValidationError, match="no holiday named like"):
            QuietPeriod(name="x", holiday="Festival of Nothing", country="CN")

    def test_a_quiet_period_names_real_profiles(self, tmp_path: Path):
        text = (ROOT / "config" / "compliance.yml").read_text(encoding="utf-8")
        (tmp_path / "compliance.yml").write_text(
            text.replace("profiles: [CN]", "profiles: [XY]"), encoding="utf-8"
        )
        with pytest.raises(Exception, match="no profile named 'XY'"):
            load_compliance(tmp_path)

    def test_two_dpd_rules_at_one_threshold_are_refused(self):
        with pytest.raises(ValidationError, match="same days past due"):
            Profile(after_dpd=(DpdRule(over=15), DpdRule(over=15, max_per_day=3)))


class TestTheOracleCheck:
    def test_random_cases_break_no_rule(self):
        tally, _ = compliance_check.run(400, seed=7)
        assert tally.cases == 400 and tally.sends and tally.deferrals
        assert tally.violations == []

    @pytest.mark.parametrize("broken", ["holidays", "preference", "dpd", "too_strict"])
    def test_it_catches_a_broken_rule(self, broken: str, monkeypatch: pytest.MonkeyPatch):
        original = rules.closed_day
        if broken == "holidays":
            monkeypatch.setattr(
                rules, "closed_day", lambda day, p: None if p.holidays else original(day, p)
            )
        elif broken == "preference":
            monkeypatch.setattr(Profile, "narrowed", lambda self, wish: self)
        elif broken == "dpd":
            monkeypatch.setattr(Profile, "for_dpd", lambda self, dpd: self)
        else:  # a day closed for no reason: deferrals that are not the earliest
            monkeypatch.setattr(
                rules,
                "closed_day",
                lambda day, p: original(day, p) or ("rest_day" if day.day == 15 else None),
            )
        tally, _ = compliance_check.run(2000)
        assert tally.violations


def test_the_week_after_a_clock_change_keeps_its_days():
    # London's clocks go back on Sunday 25 Oct 2026: Monday 08:00 is 08:00 GMT
    verdict = ask(utc(2026, 10, 25, 12), GB, "Europe/London", date(2026, 10, 25))
    assert verdict.not_before == utc(2026, 10, 26, 8)
    assert verdict.not_before - utc(2026, 10, 25, 12) == timedelta(hours=20)


def test_a_window_inside_the_repeated_hour_opens_again_after_the_clocks_go_back():
    """Found by make compliance-check: Sydney's clocks go back at 03:00 on 5 Apr 2026, so the
    wall clock reads 02:25 twice. Missed the first time (a person had the chat until 02:55),
    the window opens the second time, an hour later, not the next day."""
    tiny = Profile(window=ContactWindow(start=time(2, 25), end=time(2, 27)))
    first, second = utc(2026, 4, 4, 15, 25), utc(2026, 4, 4, 16, 25)
    verdict = decide(
        now=first,
        timezone="Australia/Sydney",
        profile=tiny,
        history=History(()),
        hold="live_handoff",
        occasion=date(2026, 4, 5),
        valid_days=0,
    )
    assert (verdict.action, verdict.not_before) == ("defer", second)
