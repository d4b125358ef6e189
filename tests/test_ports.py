"""The tests' ports: each xdist worker of a suite draws from a slice of the suite's band that
no other worker draws from (tests/ports.py)."""

from __future__ import annotations

import pytest

from tests import ports


@pytest.mark.parametrize("workers", [2, 3, 4])
@pytest.mark.parametrize("suite", sorted(ports.BANDS))
def test_each_worker_draws_from_its_own_part_of_the_band(suite: str, workers: int) -> None:
    low, high = ports.BANDS[suite]
    slices = [ports.worker_slice(low, high, f"gw{i}", workers) for i in range(workers)]
    drawn = [set(range(a, b + 1)) for a, b in slices]
    for i, mine in enumerate(drawn):
        assert len(mine) >= (high - low + 1) // workers  # none left with a sliver
        assert mine <= set(range(low, high + 1))
        for theirs in drawn[i + 1 :]:
            assert not mine & theirs


def test_outside_xdist_the_whole_band() -> None:
    assert ports.worker_slice(20000, 23999) == (20000, 23999)
    assert ports.worker_slice(20000, 23999, "gw0", 1) == (20000, 23999)


def test_a_drawn_port_is_in_this_workers_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    for _ in range(20):
        assert 22000 <= ports.free_port("e2e") <= 23999
