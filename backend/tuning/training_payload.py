"""The assistant's training data as the one YAML document Rasa's `POST /model/train` takes:
config, domain and training data together. Rasa reads the domain from a folder of files, the
HTTP API from one file, so the domain files are merged here the way Rasa merges them (lists
joined without repeats, mappings joined key by key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from backend.policy_files import read_yaml

CONFIG_KEYS = ("recipe", "language", "assistant_id", "pipeline", "policies")
DATA_KEYS = ("nlu", "rules", "stories")


def training_document(nlu_dir: Path) -> tuple[str, int]:
    """The YAML to train on, and how many NLU examples it holds."""
    config = _load(nlu_dir / "config.yml")
    document: dict[str, Any] = {"version": "3.1"}
    document.update({key: config[key] for key in CONFIG_KEYS if key in config})
    for path in sorted((nlu_dir / "domain").rglob("*.yml")):
        _merge(document, {k: v for k, v in _load(path).items() if k != "version"})
    for path in sorted((nlu_dir / "data").rglob("*.yml")):
        data = _load(path)
        for key in DATA_KEYS:
            if data.get(key):
                document.setdefault(key, []).extend(data[key])
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000)
    return text, count_examples(document.get("nlu", []))


def held_out_document(nlu_dir: Path, language: str) -> str:
    """The held-out test split of one language (nlu/tests/nlu_<language>.yml)."""
    return (nlu_dir / "tests" / f"nlu_{language}.yml").read_text(encoding="utf-8")


def held_out_languages(nlu_dir: Path) -> list[str]:
    return sorted(p.stem.removeprefix("nlu_") for p in (nlu_dir / "tests").glob("nlu_*.yml"))


def count_examples(nlu: list[dict[str, Any]]) -> int:
    return sum(
        sum(1 for line in str(block.get("examples", "")).splitlines() if line.strip())
        for block in nlu
        if "intent" in block
    )


def _load(path: Path) -> dict[str, Any]:
    loaded = read_yaml(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path.name}: not a YAML mapping")
    return loaded


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], list) and isinstance(value, list):
            into[key].extend(v for v in value if v not in into[key])
        elif isinstance(into[key], dict) and isinstance(value, dict):
            into[key].update(value)
        else:
            raise ValueError(f"domain key {key!r} given twice in different forms")
