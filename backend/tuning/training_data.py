"""Labelled messages written into the NLU training data: one file of Rasa-format examples
(`nlu/data/nlu/labelled.yml`), kept sorted so each label is a small, reviewable diff."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

HEADER = (
    'version: "3.1"\n\n'
    "# Borrower messages that operations labelled in the console (Operations > Misunderstood),\n"
    "# phone and ID numbers masked. Review the diff like any training data before merging.\n\n"
)


def known_intents(domain_dir: Path) -> frozenset[str]:
    """The intents the assistant knows (its domain files)."""
    found: set[str] = set()
    for path in sorted(domain_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("intents", []):
            found.add(item if isinstance(item, str) else next(iter(item)))
    return frozenset(found)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time, also across processes (two operators labelling at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_examples(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: dict[str, list[str]] = {}
    for block in data.get("nlu", []):
        lines = str(block.get("examples", "")).splitlines()
        examples[block["intent"]] = [line[2:] for line in lines if line.startswith("- ")]
    return examples


def add_example(path: Path, *, intent: str, text: str) -> bool:
    """Add one example under its intent; False when it is there already."""
    example = " ".join(text.split())
    with _locked(path):
        examples = read_examples(path)
        if example in examples.get(intent, []):
            return False
        examples.setdefault(intent, []).append(example)
        path.write_text(render(examples), encoding="utf-8")
    return True


def render(examples: dict[str, list[str]]) -> str:
    blocks = []
    for intent in sorted(examples):
        lines = "".join(f"    - {e}\n" for e in sorted(set(examples[intent])))
        blocks.append(f"- intent: {intent}\n  examples: |\n{lines}")
    return HEADER + "nlu:\n" + "".join(blocks)
