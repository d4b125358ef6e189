"""The replicas' counters over a case of the fault matrix (bench/replica_counters.py): a counter
that starts again from 0 is counted from there, as Prometheus's increase() counts it."""

from __future__ import annotations

from bench.replica_counters import increases


def test_counters_that_start_again_from_zero_count_from_there() -> None:
    key = ("gateway_messages_received_total", (("outcome", "answered"),))
    assert increases({key: 3.0}, {key: 5.0}, restarted=False) == {key: 2.0}
    assert increases({key: 5.0}, {key: 1.0}, restarted=False) == {key: 1.0}
    # the process started again and has already counted past its old value
    assert increases({key: 3.0}, {key: 7.0}, restarted=True) == {key: 7.0}
    other = ("gateway_rasa_errors_total", ())
    assert increases({}, {other: 2.0}, restarted=False) == {other: 2.0}
