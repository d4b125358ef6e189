"""One production topology for every test in tests/prod (it takes minutes to start): `make
run-prod`'s processes as bench/topology.py starts them, Telegram and metrics on."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bench.topology import ROOT, Topology, TopologyFailed, running


@pytest.fixture(scope="session")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    try:
        nlu = nlu_copy(tmp_path_factory.mktemp("nlu") / "nlu")
        with running(tmp_path_factory.mktemp("prod"), nlu_dir=nlu) as top:
            yield top
    except TopologyFailed as exc:
        pytest.fail(str(exc))


def nlu_copy(folder: Path) -> Path:
    """What the backend's ./nlu bind mount shows, copied: labelling and retraining write into
    it, never into the repository. Its models/ holds the model `make train` built, the one the
    backend serves until another is promoted."""
    folder.mkdir(parents=True)
    for part in ("config.yml", "domain", "data", "tests"):
        source = ROOT / "nlu" / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, folder / part)
    model = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "train.py", "--path"],
        cwd=ROOT / "nlu", capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not Path(model).exists():
        pytest.fail("no trained model: run `make train` (make test-prod does)")
    (folder / "models").mkdir()
    (folder / "models" / Path(model).name).symlink_to(model)
    return folder


# intents of the small held-out split: the labelled one, and clear ones
SMALL_SPLIT = ("greet", "goodbye", "check_balance", "request_human", "already_paid")


@pytest.fixture
def small_training(topology: Topology) -> Iterator[None]:
    """The topology's NLU copy with a fifth of the epochs and a small held-out split (the
    retraining test checks the loop, not the accuracy); put back afterwards."""
    nlu = topology.nlu_dir
    changed = [nlu / "config.yml", *sorted((nlu / "tests").glob("nlu_*.yml"))]
    kept = {path: path.read_text("utf-8") for path in changed}
    config = yaml.safe_load(kept[changed[0]])
    for component in config["pipeline"] + config["policies"]:
        if "epochs" in component:
            component["epochs"] = max(1, component["epochs"] // 5)
    changed[0].write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    for split in changed[1:]:
        document = yaml.safe_load(kept[split])
        document["nlu"] = [
            {**block, "examples": "".join(block["examples"].splitlines(True)[:4])}
            for block in document["nlu"]
            if block.get("intent") in SMALL_SPLIT
        ]
        split.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    try:
        yield
    finally:
        for path, text in kept.items():
            path.write_text(text, "utf-8")


@pytest.fixture(scope="session")
def generated(topology: Topology) -> list[str]:
    """Borrowers of the lender's own (production refuses demo data), made as operations would,
    with the backend's command line: G00000001 to G00000012."""
    topology.backend_cli("generate", "--borrowers", "12", "--seed", "5")
    return [f"G{number:08d}" for number in range(1, 13)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault matrix last: its last case leaves a Rasa replica loading its model again."""
    items.sort(key=lambda item: item.path.name == "test_fault_matrix.py")
