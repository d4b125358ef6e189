"""nlu/INTENTS.md is the product's own list of intents and entities: it and the domain
(nlu/domain/*.yml) name exactly the same ones, so neither can drift from the other. And the
held-out split the NLU is scored on shares no example with the training data."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.commands import GATEWAY_ONLY_INTENTS, PAYLOAD_ENTITIES

NLU = Path(__file__).resolve().parents[1] / "nlu"
_ROW = re.compile(r"^\|\s*`([a-z_]+)`\s*\|")


def domain() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {"intents": set(), "entities": set()}
    for path in sorted((NLU / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, found in names.items():
            for item in data.get(key) or []:
                found.add(item if isinstance(item, str) else next(iter(item)))
    return names


def documented() -> dict[str, set[str]]:
    """The first column of the tables under "## Intents" and "## Payloads" (intents) and
    "## Entities"."""
    names: dict[str, set[str]] = {"intents": set(), "entities": set()}
    section = ""
    for line in (NLU / "INTENTS.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip().lower()
        elif match := _ROW.match(line):
            key = "entities" if section == "entities" else "intents"
            assert section in ("intents", "payloads", "entities"), line
            names[key].add(match.group(1))
    return names


def test_every_intent_of_the_domain_is_documented_and_nothing_else() -> None:
    assert documented()["intents"] == domain()["intents"]


def test_every_entity_of_the_domain_is_documented_and_nothing_else() -> None:
    assert documented()["entities"] == domain()["entities"]


def test_the_list_is_the_products_own() -> None:
    text = (NLU / "INTENTS.md").read_text(encoding="utf-8")
    assert "../" not in text and "DESIGN.md" not in text  # nothing outside the repository


def test_the_payloads_are_described_as_the_gateway_takes_them() -> None:
    """Typed or sent without a button title, a payload of the assistant goes through
    (bot/commands.py); what only the gateway makes is refused."""
    text = (NLU / "INTENTS.md").read_text(encoding="utf-8")
    payloads = text[text.index("## Payloads") : text.index("## Entities")]
    assert "never typed" not in payloads
    assert "bot/commands.py" in payloads
    for name in sorted(PAYLOAD_ENTITIES | GATEWAY_ONLY_INTENTS | {"token", "phone"}):
        assert f"`{name}`" in payloads.split("| intent |")[0], name


def _examples(path: Path) -> set[str]:
    found = set()
    for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
        for line in str(block.get("examples") or "").splitlines():
            if line.strip().startswith("- "):
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:])
                found.add(" ".join(text.lower().split()))
    return found


def test_the_held_out_split_shares_no_example_with_the_training_data() -> None:
    trained = set().union(*(_examples(p) for p in (NLU / "data" / "nlu").glob("*.yml")))
    for held_out in sorted((NLU / "tests").glob("nlu_*.yml")):
        assert not _examples(held_out) & trained, held_out.name
