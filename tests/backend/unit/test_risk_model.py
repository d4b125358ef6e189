"""The scores' pure parts: a linear score's probability, reasons and JSON; the features; the
population stability index; the handoff queue's order with scores."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from backend.cases.rules import queue_key
from backend.risk.features import FEATURES, NEVER, Position, features
from backend.risk.model import LinearScore
from backend.risk.train import psi

SCORE = LinearScore(
    features=("a", "b", "c"),
    means=(1.0, 0.0, 5.0),
    scales=(2.0, 1.0, 1.0),
    coefs=(1.5, -0.5, 0.0),
    intercept=-1.0,
)


@given(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3))
def test_a_probability_is_a_probability(x: list[float]) -> None:
    assert 0.0 <= SCORE.probability(x) <= 1.0


def test_reasons_are_what_raised_the_score_most() -> None:
    x = [5.0, -2.0, 5.0]  # a: +3.0, b: +1.0, c: 0
    assert [(r.key, r.weight) for r in SCORE.reasons(x)] == [("a.high", 3.0), ("b.low", 1.0)]
    assert SCORE.reasons([1.0, 0.0, 5.0]) == []  # the average loan: nothing stands out
    assert LinearScore.of(SCORE.json()) == SCORE


def test_features_of_a_loan() -> None:
    day = date(2026, 10, 31)
    now = Position(
        dpd=12,
        bucket="1-30",
        total=10_000,
        overdue=2_500,
        charges=500,
        paid_month=1_000,
        arrangement=False,
        promise_open=True,
        last_reply_on=day - timedelta(days=3),
        last_contact_on=None,
    )
    before = Position(5, "1-30", 11_000, 1_000, 0, 0, False, False, None, None)
    x = features(now, (before, None), as_of=day, disbursed_on=date(2026, 4, 10), term_months=12)
    got = dict(zip(FEATURES, x, strict=True))
    assert got["dpd"] == 12 and got["bucket_1_30"] == 1 and got["bucket_current"] == 0
    assert got["overdue_share"] == 0.25 and got["paid_share"] == 0.1
    assert got["dpd_a_month_ago"] == 5 and got["worst_dpd_before"] == 5
    assert got["months_on_book"] == 6 and got["term_done"] == 0.5
    assert got["days_since_reply"] == 3 and got["days_since_contact"] == NEVER


def test_psi_is_small_for_the_same_population_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)
    assert psi(a, b) < 0.02
    assert psi(a, rng.normal(1.5, 1, 5000)) > 0.25
    assert psi(np.zeros(100), np.zeros(100)) == 0.0
    assert psi(np.zeros(100), np.ones(100)) > 0.25  # one value in training: still measured


def test_the_queue_serves_by_priority_then_sla_then_risk_then_wait() -> None:
    t = datetime(2026, 11, 28, 9, tzinfo=UTC)
    rows = [
        ("a", "talk_to_person", t, 0.10, False),
        ("b", "talk_to_person", t + timedelta(minutes=1), 0.90, False),
        ("c", "talk_to_person", t - timedelta(minutes=30), None, True),
        ("d", "distress", t + timedelta(minutes=5), None, False),
        ("e", "talk_to_person", t - timedelta(minutes=1), None, False),
    ]
    ordered = sorted(rows, key=lambda r: queue_key(r[1], r[2], ord(r[0]), risk=r[3], over_sla=r[4]))
    assert [r[0] for r in ordered] == ["d", "c", "b", "a", "e"]


def test_every_reason_reads_in_both_languages() -> None:
    from backend.console.i18n import CATALOG

    for name in FEATURES:
        for side in ("high", "low"):
            en, zh = CATALOG[f"risk.reason.{name}.{side}"]
            assert en and zh
