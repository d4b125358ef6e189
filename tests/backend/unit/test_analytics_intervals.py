"""Confidence intervals of the dashboard against published worked examples (Newcombe 1998:
"Two-sided confidence intervals for the single proportion" and "Interval estimation for the
difference between independent proportions", Statistics in Medicine 17)."""

from __future__ import annotations

import pytest

from backend.analytics.chats import percentile
from backend.analytics.figures import newcombe, wilson


def close(value: float, expected: float) -> bool:
    return value == pytest.approx(expected, abs=5e-5)  # the papers print four decimals


class TestWilson:
    def test_matches_the_published_score_interval(self):
        i = wilson(81, 263)
        assert i is not None
        assert close(i.low, 0.2553) and close(i.high, 0.3662)

    def test_stays_inside_zero_and_one_at_the_edge(self):
        i = wilson(0, 10)
        assert i is not None
        assert (i.estimate, i.low) == (0.0, 0.0) and close(i.high, 0.2775)

    def test_nothing_to_estimate_without_trials(self):
        assert wilson(0, 0) is None


class TestNewcombe:
    def test_matches_the_published_hybrid_score_interval(self):
        # 56/70 - 48/80 = 0.8 - 0.6
        i = newcombe(56, 70, 48, 80)
        assert i is not None
        assert close(i.estimate, 0.2000) and close(i.low, 0.0524) and close(i.high, 0.3339)

    def test_zero_events_on_both_sides(self):
        i = newcombe(0, 10, 0, 20)
        assert i is not None
        assert close(i.estimate, 0.0) and close(i.low, -0.1611) and close(i.high, 0.2775)

    def test_is_the_mirror_image_when_the_sides_swap(self):
        a, b = newcombe(56, 70, 48, 80), newcombe(48, 80, 56, 70)
        assert a is not None and b is not None
        assert close(b.estimate, -a.estimate) and close(b.low, -a.high) and close(b.high, -a.low)

    def test_nothing_to_compare_when_a_side_has_no_trials(self):
        assert newcombe(3, 10, 0, 0) is None
        assert newcombe(0, 0, 3, 10) is None


class TestPercentile:
    def test_interpolates_between_ranks_like_percentile_cont(self):
        assert percentile([60, 120, 600], 0.5) == 120
        assert percentile([60, 120, 600], 0.9) == pytest.approx(504)  # 120 + 0.8 * 480
        assert percentile([30], 0.9) == 30
        assert percentile([], 0.5) is None
