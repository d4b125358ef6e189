"""The README's `make` targets that no other test runs, each run here at a small size so none
can break unseen: checked for exit 0 and for the figures it prints.

`make bench` and `make bench-outreach` work on the local PostgreSQL (BENCH_DATABASE_URL is set
to TEST_DATABASE_URL; they fail under CI=true when it is down); `make tune-fallback SMALL=1`
trains the NLU pipeline twice on a sample. Left out: `make run`, `make chat` and
`make bench-chat` need a running stack (the smoke test starts one); `make lock` re-resolves
from the package index and rewrites requirements/*.txt; `make clean` deletes the virtualenvs;
`make setup`, `make train`, `make nlu-test` and `make actions-test` are run by `make test`;
`make bench-rasa` needs the trained model and Rasa's interpreter, so tests/rasa runs it small.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from tests.conftest import PG_URL, need_postgres

ROOT = Path(__file__).resolve().parents[1]
LOANS = 3000
DELIVER = 60
NUMBER = r"[\d,]+"


def make(*args: str, timeout: float = 300) -> str:
    """Run `make args` in the repository; its output, once it exited 0."""
    env = {**os.environ, "BENCH_DATABASE_URL": PG_URL}
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {' '.join(args)} exited {result.returncode}:\n{output}"
    return output


def figure(pattern: str, output: str) -> re.Match[str]:
    match = re.search(pattern, output)
    assert match, f"no line matching {pattern!r} in:\n{output}"
    return match


def count(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def postgres() -> None:
    engine = create_engine(PG_URL)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        need_postgres(str(exc).splitlines()[0])
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.usefixtures("postgres")
def test_make_bench_at_a_small_size() -> None:
    output = make("bench", f"LOANS={LOANS}")
    for db in ("sqlite", "postgres"):
        figure(rf"\[{db}\] generated {LOANS:,} loans in [\d.]+ s \({NUMBER} loans/s\)", output)
        figure(
            rf"\[{db}\] balance, DPD and bucket of {LOANS:,} loans as of 2026-11-29: "
            rf"[\d.]+ s = {NUMBER} loans/s",
            output,
        )
        buckets = figure(rf"\[{db}\] buckets: (.+)", output).group(1)
        assert sum(count(n) for n in re.findall(rf" ({NUMBER})(?:,|$)", buckets)) == LOANS


@pytest.mark.postgres
@pytest.mark.usefixtures("postgres")
def test_make_bench_outreach_at_a_small_size() -> None:
    output = make("bench-outreach", f"LOANS={LOANS}", f"DELIVER={DELIVER}")
    figure(rf"generated {LOANS:,} loans in [\d.]+ s", output)
    planned = figure(
        rf"\[postgres\] planned 2026-11-29 over {LOANS:,} loans in [\d.]+ s \({NUMBER} loans/s\): "
        rf"({NUMBER}) candidate loans, ({NUMBER}) reminders due, ({NUMBER}) planned",
        output,
    )
    assert count(planned.group(2)) > 0
    dispatched = figure(rf"\[postgres\] dispatched ({NUMBER}) reminders at 10:00", output)
    assert count(dispatched.group(1)) == count(planned.group(2))  # fewer than 20,000: all of them
    figure(rf"\[delivery\] outbox: {DELIVER} delivered; .* = [\d.]+ msgs/s", output)
    peak = figure(r"\[delivery\] fake Telegram server: .*at most (\d+) in one second", output)
    assert int(peak.group(1)) <= 30  # Telegram's limit per bot
    figure(r"\[delivery\] every message arrived exactly once \(\d+ chats\)", output)


def test_make_tune_fallback_in_its_small_mode() -> None:
    output = make("tune-fallback", "SMALL=1")
    assert output.count("training on") == 2  # two folds
    best = figure(
        r"small run \(its thresholds mean nothing\): (\d+) held-out messages, accuracy "
        r"([\d.]+) without a fallback; best: threshold ([\d.]+), ambiguity_threshold ([\d.]+)",
        output,
    )
    assert int(best.group(1)) > 0
    assert 0 <= float(best.group(2)) <= 1
    report = ROOT / "nlu" / "results" / "fallback_tuning_small.json"
    assert report.exists()
