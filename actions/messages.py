"""Everything the actions say, in Chinese and English. Figures are filled in by the actions.

The shipped texts are config/responses.yml. Operations may override any of them in the console;
the running version reaches this process through `use_running` (actions/running_texts.py
follows the backend) and is looked up first. Until one arrives, or when the backend cannot be
reached, the shipped texts are said."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "responses.yml"
_shipped = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType(_shipped["texts"])
BUTTONS: Mapping[str, Mapping[str, str]] = MappingProxyType(_shipped["buttons"])

# The running version's overrides: (version, texts, buttons, experiments). Replaced whole,
# never mutated, so a reader mid-action sees one version or the next, never a mix.
_running: tuple[
    int,
    Mapping[str, Mapping[str, str]],
    Mapping[str, Mapping[str, str]],
    Mapping[str, Mapping[str, Any]],
] = (0, {}, {}, {})

# This turn's borrower key for experiments (the gateway's `arm` metadata: verified chats only)
# and the wordings said under experiment (actions/serve.py reports them to the backend).
_arm: ContextVar[str | None] = ContextVar("text_arm", default=None)
_said: ContextVar[list[tuple[str, str]] | None] = ContextVar("texts_said", default=None)


def use_running(
    version: int,
    texts: Mapping[str, Mapping[str, str]],
    buttons: Mapping[str, Mapping[str, str]],
    experiments: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Make `version`'s overrides the ones said (0 with nothing: the shipped texts). Entries
    for keys this build does not ship are ignored: a newer backend may know more texts."""
    global _running  # noqa: PLW0603  (one module-wide version, swapped whole)
    _running = (
        version,
        {k: v for k, v in texts.items() if k in TEXTS},
        {k: v for k, v in buttons.items() if k in BUTTONS},
        {k: v for k, v in (experiments or {}).items() if k in TEXTS},
    )


def running_version() -> int:
    return _running[0]


def begin_turn(arm: str | None) -> None:
    """A new action run: whose wordings to assign, and nothing said yet."""
    _arm.set(arm or None)
    _said.set([])


def said_in_turn() -> list[tuple[str, str]]:
    """(key, variant) of each text under experiment said since `begin_turn`, once each."""
    return list(_said.get() or [])


def variant_for(key: str, arm: str, share: float) -> str:
    """The wording a borrower gets for a text: the same on every run and machine, and
    independent between texts (the key is part of the hash)."""
    digest = hashlib.sha256(f"{key}:{arm}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "challenger" if position < share else "champion"


def _wording(key: str, language: str) -> str | None:
    """The challenger's text when this turn's borrower is assigned it; noted as said."""
    experiment, arm, said = _running[3].get(key), _arm.get(), _said.get()
    if not experiment or arm is None:
        return None
    variant = variant_for(key, arm, float(experiment.get("share", 0)))
    if said is not None and (key, variant) not in said:
        said.append((key, variant))
    return experiment.get(language) if variant == "challenger" else None


def _text(table: Mapping[str, Mapping[str, str]], running: Mapping[str, Mapping[str, str]],
          key: str, lang: str) -> str:  # fmt: skip
    language = "en" if lang == "en" else "zh"
    if table is TEXTS and (tried := _wording(key, language)):
        return tried
    override = running.get(key, {}).get(language)
    return override if override else table[key][language]


def say(lang: str, key: str, **values: Any) -> str:
    text = _text(TEXTS, _running[1], key, lang)
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        # The backend checks an override's {figures} before it may run; this guards a text
        # that slipped past anyway: the shipped wording, never a failed turn.
        return TEXTS[key]["en" if lang == "en" else "zh"].format(**values)


def why(lang: str, family: str, code: str, params: Mapping[str, Any] | None = None) -> str:
    """A reason the backend gave as a code with its figures (`params`), in the borrower's
    language: the text for `family.code`, else the family's general one. Never the backend's
    English message."""
    key = f"{family}.{code}"
    if key in TEXTS:
        try:
            return say(lang, key, **dict(params or {}))
        except (KeyError, IndexError, ValueError):  # a figure missing: the general text
            pass
    return say(lang, family)


def plan_kind(lang: str, kind: str) -> str:
    key = f"plan.{kind}"
    return say(lang, key) if key in TEXTS else kind


def buttons(lang: str, *payloads: str) -> list[dict[str, str]]:
    return [{"title": _text(BUTTONS, _running[2], p, lang), "payload": p} for p in payloads]
