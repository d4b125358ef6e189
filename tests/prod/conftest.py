"""One production topology for every test in tests/prod (it takes minutes to start): `make
run-prod`'s processes as bench/topology.py starts them, Telegram and metrics on."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.topology import ROOT, Topology, TopologyFailed, running
from tests.small_training import small_copy


@pytest.fixture(scope="session")
def topology() -> Iterator[Topology]:
    # Not under pytest's own temporary folder: any pytest session that starts on this machine
    # makes that 0700 again, and the postgres user would lose its cluster mid-session.
    state = Path(tempfile.mkdtemp(prefix="prod-topology-"))
    # The backend's ./nlu shows a small copy: labels and retraining never touch the checkout.
    nlu = small_copy(ROOT / "nlu", state / "nlu")
    try:
        # The lender's business day in UTC: a borrower somewhere is in its afternoon whenever
        # the tests run (the reminder journey needs one).
        with running(state, nlu_dir=nlu, settings={"BUSINESS_TIMEZONE": "UTC"}) as top:
            yield top
    except TopologyFailed as exc:
        pytest.fail(str(exc))
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def generated(topology: Topology) -> list[str]:
    """Borrowers of the lender's own (production refuses demo data), made as operations would,
    with the backend's command line: G00000001 to G00000060."""
    topology.backend_cli("generate", "--borrowers", "60", "--seed", "5")
    return [f"G{number:08d}" for number in range(1, 61)]


@pytest.fixture(scope="session")
def chinese_overdue(topology: Topology, generated: list[str]) -> list[str]:
    """The generated borrowers who speak Chinese and are behind on their loan, but the last two
    (the fault matrix's): one for each journey, so that none meets another's promise or plan."""
    speak = topology.postgres.sql("SELECT ref FROM borrowers WHERE language = 'zh'", "lender")
    chinese = set(speak.split())
    found = []
    for ref in generated[:-2]:
        balance = json.loads(topology.backend_cli("balance", f"L-{ref}"))
        if ref in chinese and balance["status"] == "active" and balance["bucket"] != "current":
            found.append(ref)
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault matrix last: its last case leaves a Rasa replica loading its model again."""
    items.sort(key=lambda item: item.path.name == "test_fault_matrix.py")
