"""`make bench-rasa` (bench/rasa_changes.py) on the trained model, at a small size: it runs,
prices every change of nlu/serve.py, and Rasa answers the held-out messages and the chats the
same with and without them, to the last digit. Needs the model `make train` leaves in
nlu/models (make test trains before these tests run); under CI=true a missing one fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHANGES = (
    "types_resolved_once",
    "rules_indexed",
    "sparse_joined_directly",
    "graphs_run_plainly",
    "prior_states_shared",
    "predictions_called_directly",
)
LINE = r"without {} +([\d.]+) → +([\d.]+) +(\d+) +([\d.]+) → +([\d.]+) +(\d+)"


def test_every_change_priced_and_the_answers_the_same() -> None:
    if not list((ROOT / "nlu" / "models").glob("*.tar.gz")):
        if os.environ.get("CI") == "true":
            pytest.fail("no trained model in nlu/models: make train")
        pytest.skip("no trained model in nlu/models: make train")
    result = subprocess.run(
        [sys.executable, "../bench/rasa_changes.py", "--rounds", "1", "--messages", "40", "--each"],
        cwd=ROOT / "nlu",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "40 held-out messages, 1 rounds" in result.stdout
    for name in ("serve.py's changes", *CHANGES):
        found = re.search(LINE.format(re.escape(name)), result.stdout)
        assert found, f"no line for {name}:\n{result.stdout}"
        without, with_, differ, one, one_with, differ_in_chats = found.groups()
        assert float(without) > 0 and float(with_) > 0 and float(one) > 0 and float(one_with) > 0
        assert differ == "0" and differ_in_chats == "0", found.group(0)
