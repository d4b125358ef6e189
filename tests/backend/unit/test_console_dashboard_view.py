"""The dashboard's figures as the console words them: rates, the experiments' verdict, the
filter's period and the bucket-to-bucket table."""

from __future__ import annotations

from datetime import date

from backend.analytics.figures import Interval, Transitions
from backend.console import dashboard_view as view
from backend.console.i18n import CATALOG, translator


class TestWords:
    def test_a_rate_without_a_base_is_a_dash_not_a_division_error(self):
        assert view.rate(0, 0) is None
        assert view.percent(view.rate(1, 8)) == "12.5%"
        assert view.percent(None) == "–"
        assert view.wait(None, "en") == "–"
        assert view.wait(199.6, "en") == "3 min 20 s"

    def test_money_keeps_the_currencys_decimals(self):
        assert view.money(250000, "CNY") == "2,500.00 CNY"
        assert view.money(2500, "JPY") == "2,500 JPY"

    def test_the_verdict_takes_a_side_only_when_the_interval_leaves_out_zero(self):
        assert view.verdict(Interval(0.02, -0.01, 0.05)) == "unclear"
        assert view.verdict(Interval(0.06, 0.01, 0.11)) == "challenger"
        assert view.verdict(Interval(-0.06, -0.11, -0.01)) == "champion"
        assert view.verdict(None) == "no_data"
        assert view.interval_text(Interval(0.02, -0.01, 0.05), signed=True) == (
            "+2.0% [-1.0%, +5.0%]"
        )

    def test_every_verdict_hold_reason_group_and_series_has_a_name(self):
        names = [f"hold.{r}" for r in view.HOLD_REASONS]
        names += [f"dash.verdict.{v}" for v in ("no_data", "challenger", "champion", "unclear")]
        names += [f"dash.group.{g}" for g in ("assistant", "others")]
        names += [f"dash.series.{s}" for s in view.SERIES]
        names += [f"dash.channel.{c}" for c in view.CHANNELS]
        assert [n for n in names if n not in CATALOG] == []


class TestFilter:
    def test_the_period_ends_today_and_all_means_no_slice(self):
        scope = view.Filter(period="7").scope(date(2026, 4, 1), "Asia/Shanghai")
        assert (scope.start, scope.end) == (date(2026, 3, 26), date(2026, 4, 1))
        assert scope.channel is None and scope.language is None
        sliced = view.Filter("90", "webchat", "zh").scope(date(2026, 4, 1), "Asia/Shanghai")
        assert len(sliced.days()) == 90
        assert (sliced.channel, sliced.language) == ("webchat", "zh")


def test_the_bucket_table_has_a_row_per_past_due_bucket_and_a_column_per_bucket():
    group = Transitions(
        "assistant", loans=3, cured=1, rolls={("1-30", "current"): 1, ("1-30", "31-60"): 2}
    )
    rows = dict(view.rolls_table(group))
    assert list(rows) == ["1-30", "31-60", "61-90", "91-180", "180+"]
    assert rows["1-30"] == [1, 0, 2, 0, 0, 0]
    assert view.roll_forward_rate(group) == 2 / 3


def test_a_hold_reason_without_words_is_shown_as_recorded():
    t = translator("en")
    assert view.hold_reason("daily_cap", t) == "daily limit reached"
    assert view.hold_reason("new_rule", t) == "new rule"
