"""What the assistant says, as shipped, and the rules an operations override must keep. Pure: no
I/O but reading the shipped files in `load_shipped`.

An entry is a text in both languages, named by its key: the action server's texts
(config/responses.yml `texts`), Rasa's own fixed replies (nlu/domain/responses.yml, `utter_*`)
and the button titles (config/responses.yml `buttons`, by the intent a button sends). An
override replaces either language of an entry; a version holds all the overrides in force."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.policy_files import read_yaml

LANGUAGES = ("zh", "en")
# texts: the action server's and Rasa's replies; buttons: their titles; notices: what the
# backend itself sends into a chat (backend/outbound/texts.py: a collector joined, a
# settlement decided, ...).
SECTIONS = ("texts", "buttons", "notices")
# A second wording tried on a share of borrowers: key -> {zh, en, share} (the challenger; the
# champion is the wording in force). Only the action server's texts: Rasa's fixed replies
# (`utter_*`) have no borrower to assign.
EXPERIMENTS = "experiments"
ALL_SECTIONS = (*SECTIONS, EXPERIMENTS)
MIN_SHARE, MAX_SHARE = 0.05, 0.95
# What an experiment counts as the wording working, within the results window after it.
OUTCOMES = ("paid_or_promised", "paid", "promised", "replied")
MAX_TEXT = 2000  # a Telegram message is at most 4,096 characters: room for the figures
MAX_BUTTON = 20  # WhatsApp's limit for a reply button's title, the strictest channel's
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

Entry = Mapping[str, str]  # language -> text
Overrides = Mapping[str, Mapping[str, Any]]  # section -> key -> language -> text (or share)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an override cannot run: `field` names it as the console's form does
    (`texts.balance.zh`)."""

    field: str
    message: str


@dataclass(frozen=True)
class Catalogue:
    """The shipped entries: section -> key -> {zh, en}."""

    texts: Mapping[str, Entry]
    buttons: Mapping[str, Entry]
    notices: Mapping[str, Entry] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Entry]:
        return {"texts": self.texts, "buttons": self.buttons, "notices": self.notices}[name]

    def said(self, overrides: Overrides, section: str, key: str, language: str) -> str:
        """The text in force for one entry and language under `overrides`."""
        override = overrides.get(section, {}).get(key, {}).get(language)
        return override or self.section(section)[key][language]


def load_shipped(config_dir: Path, nlu_dir: Path) -> Catalogue:
    """config/responses.yml, plus each `utter_*` response of the Rasa domain (its English
    variation, conditioned on the language slot, and its default, Chinese)."""
    shipped = read_yaml((config_dir / "responses.yml").read_text(encoding="utf-8"))
    texts = {key: dict(entry) for key, entry in shipped["texts"].items()}
    domain_file = nlu_dir / "domain" / "responses.yml"
    domain = read_yaml(domain_file.read_text(encoding="utf-8")) if domain_file.exists() else {}
    for name, variations in domain.get("responses", {}).items():
        texts[name] = {
            ("en" if variation.get("condition") else "zh"): variation["text"]
            for variation in variations
        }
    from backend.outbound.texts import TEXTS as NOTICES

    return Catalogue(
        texts=texts,
        buttons={k: dict(v) for k, v in shipped["buttons"].items()},
        notices={k: dict(v) for k, v in NOTICES.items()},
    )


def figures(text: str) -> set[str]:
    """The {names} a text fills in; ValueError for a brace that opens nothing."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problems(overrides: Any, catalogue: Catalogue) -> list[Problem]:
    """Everything wrong with a set of overrides, each named by its field; empty when it may
    run."""
    if not isinstance(overrides, Mapping):
        return [Problem("", f"expected a mapping of sections ({', '.join(ALL_SECTIONS)})")]
    found: list[Problem] = []
    for section, entries in overrides.items():
        if section not in ALL_SECTIONS:
            expected = ", ".join(ALL_SECTIONS)
            found.append(Problem(str(section), f"unknown section; expected {expected}"))
            continue
        if not isinstance(entries, Mapping):
            found.append(Problem(section, "expected a mapping of entries"))
            continue
        if section == EXPERIMENTS:
            found += _experiment_problems(entries, catalogue)
            continue
        shipped = catalogue.section(section)
        for key, entry in entries.items():
            field = f"{section}.{key}"
            if key not in shipped:
                found.append(Problem(field, "no such text"))
            elif not isinstance(entry, Mapping):
                found.append(Problem(field, "expected zh and/or en"))
            else:
                for language, text in entry.items():
                    found += _text_problems(
                        f"{field}.{language}", section, language, text, shipped[key].get(language)
                    )
    return found


def _experiment_problems(entries: Mapping[str, Any], catalogue: Catalogue) -> list[Problem]:
    found: list[Problem] = []
    for key, entry in entries.items():
        field = f"{EXPERIMENTS}.{key}"
        if key not in catalogue.texts or str(key).startswith("utter_"):
            found.append(Problem(field, "no such text of the action server's"))
            continue
        if not isinstance(entry, Mapping):
            found.append(Problem(field, "expected zh, en and share"))
            continue
        share = entry.get("share")
        if not isinstance(share, int | float) or not MIN_SHARE <= share <= MAX_SHARE:
            found.append(Problem(f"{field}.share", f"a share from {MIN_SHARE} to {MAX_SHARE}"))
        for language in LANGUAGES:
            shipped = catalogue.texts[key][language]
            text = entry.get(language)
            found += _text_problems(f"{field}.{language}", "texts", language, text, shipped)
        if entry.get("outcome", OUTCOMES[0]) not in OUTCOMES:
            found.append(Problem(f"{field}.outcome", f"one of {', '.join(OUTCOMES)}"))
        if unknown := sorted(set(entry) - {"share", "outcome", *LANGUAGES}):
            found.append(Problem(field, f"unknown {', '.join(map(str, unknown))}"))
    return found


def _text_problems(
    field: str, section: str, language: str, text: object, shipped: str | None
) -> list[Problem]:
    if language not in LANGUAGES or shipped is None:
        return [Problem(field, f"unknown language; expected {' or '.join(LANGUAGES)}")]
    if not isinstance(text, str) or not text.strip():
        return [Problem(field, "empty: write the text, or keep the shipped one")]
    limit = MAX_BUTTON if section == "buttons" else MAX_TEXT
    if len(text) > limit:
        return [Problem(field, f"{len(text)} characters; at most {limit}")]
    if language == "zh" and CJK.search(shipped) and not CJK.search(text):
        return [Problem(field, "no Chinese in the Chinese text")]
    try:
        used = figures(text)
    except ValueError:
        return [Problem(field, "a { or } that fills in nothing: write {{ or }} for a brace")]
    expected = figures(shipped)
    wrong = []
    if unknown := sorted(used - expected):
        wrong.append(f"unknown figure {', '.join('{' + f + '}' for f in unknown)}")
    if missing := sorted(expected - used):
        wrong.append(f"must keep {', '.join('{' + f + '}' for f in missing)}")
    if any(not name.isidentifier() for name in used):
        wrong.append("a figure is a plain name in braces, such as {total}")
    return [Problem(field, "; ".join(wrong))] if wrong else []


def normalised(overrides: Overrides, catalogue: Catalogue) -> dict[str, dict[str, dict[str, Any]]]:
    """The overrides without what equals the shipped text: a version holds only differences,
    so a shipped wording fixed in a later release is not hidden by a copy of the old one."""
    kept: dict[str, dict[str, dict[str, Any]]] = {section: {} for section in SECTIONS}
    for section in SECTIONS:
        shipped = catalogue.section(section)
        for key, entry in overrides.get(section, {}).items():
            changed = {
                language: text
                for language, text in entry.items()
                if text != shipped.get(key, {}).get(language)
            }
            if changed:
                kept[section][key] = changed
    kept[EXPERIMENTS] = {key: dict(entry) for key, entry in overrides.get(EXPERIMENTS, {}).items()}
    return kept


@dataclass(frozen=True, slots=True)
class Change:
    """One language of one entry that differs between two versions."""

    section: str
    key: str
    language: str
    before: str
    after: str


def changes(before: Overrides, after: Overrides, catalogue: Catalogue) -> list[Change]:
    """What `after` says differently from `before`, entry by entry, in the catalogue's order."""
    found = []
    for section in SECTIONS:
        keys = set(before.get(section, {})) | set(after.get(section, {}))
        for key in (k for k in catalogue.section(section) if k in keys):
            for language in LANGUAGES:
                old = catalogue.said(before, section, key, language)
                new = catalogue.said(after, section, key, language)
                if old != new:
                    found.append(Change(section, key, language, old, new))
    tried_before, tried_after = before.get(EXPERIMENTS, {}), after.get(EXPERIMENTS, {})
    for key in (k for k in catalogue.texts if k in set(tried_before) | set(tried_after)):
        for part in (*LANGUAGES, "share", "outcome"):
            old = str(tried_before.get(key, {}).get(part, ""))
            new = str(tried_after.get(key, {}).get(part, ""))
            if old != new:
                found.append(Change(EXPERIMENTS, key, part, old, new))
    return found


def merged(running: Overrides, section: str, key: str, entry: Entry) -> dict[str, Any]:
    """The running overrides with one entry replaced by `entry` (both languages)."""
    result = {s: {k: dict(v) for k, v in running.get(s, {}).items()} for s in ALL_SECTIONS}
    result[section][key] = dict(entry)
    return result


def as_yaml(overrides: Overrides) -> str:
    """The overrides as a YAML file a lender can keep in git and import again."""
    kept = {s: dict(overrides.get(s, {})) for s in SECTIONS}
    if overrides.get(EXPERIMENTS):
        kept[EXPERIMENTS] = dict(overrides[EXPERIMENTS])
    return yaml.safe_dump(kept, allow_unicode=True, sort_keys=False)
