"""The tuning loop's tests retrain the assistant on a copy of nlu/ made small: the shipped
pipeline at a fifth of its epochs, scored on a small held-out split of clear messages, so that
a retraining takes a minute or two instead of five and both models are compared on messages
either gets right. This tests the loop, not the accuracy (`make nlu-test` scores the shipped
model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

# intents of the small held-out split: the one the tests label, and clear ones
SMALL_SPLIT = ("greet", "goodbye", "check_balance", "request_human", "already_paid")


def shrink(nlu_dir: Path) -> dict[Path, str]:
    """Fewer epochs and a small held-out split in `nlu_dir`; the changed files' texts before."""
    changed = [nlu_dir / "config.yml", *sorted((nlu_dir / "tests").glob("nlu_*.yml"))]
    kept = {path: path.read_text("utf-8") for path in changed}
    config = yaml.safe_load(kept[changed[0]])
    for component in config["pipeline"] + config["policies"]:
        if "epochs" in component:
            component["epochs"] = max(1, component["epochs"] // 5)
    changed[0].write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    for split in changed[1:]:
        document = yaml.safe_load(kept[split])
        document["nlu"] = [
            {**block, "examples": "".join(_clear(block["examples"])[:4])}
            for block in document["nlu"]
            if block.get("intent") in SMALL_SPLIT
        ]
        split.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return kept


def _clear(examples: str) -> list[str]:
    """The examples with no entity to find: a model trained at a fifth of the epochs can read a
    word beside an entity as one ("the" in "the money was transferred on Friday"), and with a
    handful of entities one such slip is a worse entity F1, not a worse model."""
    return [line for line in examples.splitlines(True) if "](" not in line]


def small_copy(source: Path, target: Path) -> Path:
    """A shrunk copy of the NLU project at `target`; its models/ links to the trained ones."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("models", ".*", "__pycache__"))
    (target / "models").symlink_to((source / "models").resolve(), target_is_directory=True)
    shrink(target)
    return target
