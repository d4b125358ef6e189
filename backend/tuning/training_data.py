"""Labelled messages written into the NLU training data: one file of Rasa-format examples
(`nlu/data/nlu/labelled.yml`), kept sorted so each label is a small, reviewable diff."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.policy_files import read_yaml
from backend.tuning.annotation import plain

HEADER = (
    'version: "3.1"\n\n'
    "# Borrower messages that operations labelled in the console (Operations > Misunderstood),\n"
    "# phone and ID numbers masked. Review the diff like any training data before merging.\n\n"
)


def known_intents(domain_dir: Path) -> frozenset[str]:
    """The intents the assistant knows (its domain files)."""
    return _domain_names(domain_dir, "intents")


def known_entities(domain_dir: Path) -> frozenset[str]:
    """The entities the assistant extracts (its domain files)."""
    return _domain_names(domain_dir, "entities")


def _domain_names(domain_dir: Path, key: str) -> frozenset[str]:
    found: set[str] = set()
    for path in sorted(domain_dir.glob("*.yml")):
        data = read_yaml(path.read_text(encoding="utf-8")) or {}
        for item in data.get(key, []):
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
    data = read_yaml(path.read_text(encoding="utf-8")) or {}
    examples: dict[str, list[str]] = {}
    for block in data.get("nlu", []):
        lines = str(block.get("examples", "")).splitlines()
        examples[block["intent"]] = [line[2:] for line in lines if line.startswith("- ")]
    return examples


def add_example(
    path: Path, *, intent: str, text: str, replaces: tuple[str, str] | None = None
) -> bool:
    """Add one example under its intent; False when it is there already. The same words
    marked differently replace the old marks (Rasa would read two conflicting annotations);
    `replaces` (intent, example) is a previous label of the same message, taken out."""
    example = " ".join(text.split())
    with _locked(path):
        examples = read_examples(path)
        taken_out = False
        if replaces is not None and replaces != (intent, example) and replaces[0] in examples:
            before = len(examples[replaces[0]])
            examples[replaces[0]] = [e for e in examples[replaces[0]] if e != replaces[1]]
            taken_out = len(examples[replaces[0]]) < before
            if not examples[replaces[0]]:
                del examples[replaces[0]]
        if example in examples.get(intent, []):
            if taken_out:  # the old label goes even when the new one is there already
                path.write_text(render(examples), encoding="utf-8")
            return taken_out
        words = plain(example)
        kept = [e for e in examples.get(intent, []) if plain(e) != words]
        examples[intent] = [*kept, example]
        path.write_text(render(examples), encoding="utf-8")
    return True


def render(examples: dict[str, list[str]]) -> str:
    blocks = []
    for intent in sorted(examples):
        lines = "".join(f"    - {e}\n" for e in sorted(set(examples[intent])))
        blocks.append(f"- intent: {intent}\n  examples: |\n{lines}")
    return HEADER + "nlu:\n" + "".join(blocks)
