"""bench/capacity.py's arithmetic (the measuring needs make run-prod; the sizing is checked by
hand here): the peak hour's message rate, the cores each part needs at the utilisation allowed,
Rasa's replicas (one message at a time per process, and one to lose), and the reminders."""

from __future__ import annotations

from bench.capacity import PARTS, Measured, main, sizing


def args(**overrides: float) -> object:
    import argparse

    values = {
        "borrowers": 20, "daily_messages": 200_000, "peak_share": 0.15, "utilisation": 0.6,
        "borrowers_total": 1_000_000, "plan_loans_per_second": 10_000,
        "decisions_per_second": 500, "due_share": 0.05, "telegram_per_second": 30,
    }  # fmt: skip
    return argparse.Namespace(**(values | overrides))


def measured() -> Measured:
    return Measured(
        messages=200,
        errors=0,
        seconds=10.0,
        latency_ms=(900.0, 1500.0, 1800.0),
        per_message=dict.fromkeys(PARTS, 0.0) | {"rasa": 0.072, "backend": 0.018, "redis": 0.0001},
        backend_requests_per_message=3.0,
    )


def test_the_peak_hour_and_the_cores_and_replicas_each_part_needs() -> None:
    text = "\n".join(sizing(measured(), args()))  # type: ignore[arg-type]
    # 200,000 × 15% / 3600 = 8.33 messages/s; Rasa 8.33 × 0.072 / 0.6 = 1.00 core
    assert "8.3 messages/s at the peak" in text
    assert "| rasa | 72 | 13.9 | 1.00 | 2 |" in text
    # backend: 8.33 × 0.018 / 0.6 = 0.25 core; never fewer than two replicas
    assert "| backend | 18 | 55.6 | 0.25 | 2 |" in text
    assert "| redis |" not in text  # under half a millisecond: left out
    assert "saturates first: rasa (1.00 cores" in text
    # 1,000,000 / 10,000 = 100 s; 50,000 due / 500 = 100 s; 50,000 / 30 / 60 = 28 minutes
    assert "planning the day 100 s" in text
    assert "deciding 50,000 due reminders (5.0% of the book) 100 s" in text
    assert "sending them 28 minutes" in text


def test_twice_the_messages_needs_a_rasa_replica_more() -> None:
    text = "\n".join(sizing(measured(), args(daily_messages=400_000)))  # type: ignore[arg-type]
    assert "| rasa | 72 | 13.9 | 2.00 | 3 |" in text


def test_without_the_topology_it_says_what_to_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        main(["--state", str(tmp_path), "--idle-seconds", "0"])
    except SystemExit as stop:
        assert "start `make run-prod` first" in str(stop)
    else:
        raise AssertionError("no topology, yet it measured")
