"""Scores of a model on the held-out test split, and whether a candidate is not worse than
the running model. Pure: Rasa's evaluation reports in, plain values out.

Both models read the same test messages, so they are compared message by message: in each
language, the candidate is worse when the messages it gets wrong that the running model got
right outnumber, beyond chance, those it gets right that the running model got wrong
(McNemar's exact test, one-sided, p < ALPHA); the same within each intent (p < INTENT_ALPHA,
stricter because there are many intents). Retraining on the same data moves a message or two
either way (training is not bit-for-bit repeatable); that is noise, not a worse model. Entity
F1 may fall at most ENTITY_TOLERANCE. Scores kept without predictions (older records) fall
back to macro-F1 within F1_TOLERANCE and no intent losing over INTENT_DROP of its F1."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ALPHA = 0.05
INTENT_ALPHA = 0.01
ENTITY_TOLERANCE = 0.03
F1_TOLERANCE = 0.01
INTENT_DROP = 0.10
MIN_SUPPORT = 5
_SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg", "micro avg")


def summarise(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The parts of Rasa's intent evaluation kept with a model (JSON-ready): totals, each
    intent's F1, and each test message's reading as [text, intent, predicted]."""
    intent_evaluation = evaluation.get("intent_evaluation") or {}
    report = intent_evaluation.get("report") or {}
    intents = {
        name: {"f1": round(row["f1-score"], 4), "support": int(row["support"])}
        for name, row in report.items()
        if name not in _SUMMARY_ROWS and isinstance(row, dict)
    }
    entities = (evaluation.get("entity_evaluation") or {}).get("DIETClassifier") or {}
    entity_report = entities.get("report") or {}
    entity_f1 = (entity_report.get("micro avg") or {}).get("f1-score")
    summary: dict[str, Any] = {
        "macro_f1": round(report.get("macro avg", {}).get("f1-score", 0.0), 4),
        "accuracy": round(float(report.get("accuracy", 0.0)), 4),
        "entity_f1": None if entity_f1 is None else round(entity_f1, 4),
        "intents": intents,
    }
    predictions = intent_evaluation.get("predictions")
    if predictions:
        summary["predictions"] = [[p["text"], p["intent"], p["predicted"]] for p in predictions]
    return summary


def one_sided_mcnemar(lost: int, gained: int) -> float:
    """P(at least `lost` of the `lost + gained` changed messages go the candidate's way
    wrong) if a change were as likely either way: the exact binomial tail."""
    n = lost + gained
    if lost == 0:
        return 1.0
    return float(sum(math.comb(n, k) for k in range(lost, n + 1)) / 2**n)


@dataclass(frozen=True, slots=True)
class IntentRow:
    language: str
    intent: str
    support: int
    running: float | None
    candidate: float | None
    lost: int = 0  # test messages of this intent the candidate gets wrong, the running right
    gained: int = 0  # and the other way round

    @property
    def change(self) -> float | None:
        if self.running is None or self.candidate is None:
            return None
        return round(self.candidate - self.running, 4)


@dataclass(frozen=True, slots=True)
class Comparison:
    rows: list[IntentRow]  # per language, then intent
    totals: list[
        tuple[str, str, float | None, float | None]
    ]  # language, figure, running, candidate
    changed: dict[str, tuple[int, int]]  # language -> (lost, gained) test messages
    not_worse: bool
    reasons: list[str]  # why it is worse (empty when not worse)


def compare(running: dict[str, Any], candidate: dict[str, Any]) -> Comparison:
    """Side by side per language and intent; `running` and `candidate` map a language to
    its `summarise` result."""
    rows: list[IntentRow] = []
    totals: list[tuple[str, str, float | None, float | None]] = []
    changed: dict[str, tuple[int, int]] = {}
    reasons: list[str] = []
    for language in sorted(set(running) | set(candidate)):
        old, new = running.get(language), candidate.get(language)
        if old is None or new is None:
            missing = "the running model" if old is None else "the candidate"
            reasons.append(f"{language}: no scores for {missing}")
            continue
        for figure in ("macro_f1", "entity_f1", "accuracy"):
            totals.append((language, figure, old.get(figure), new.get(figure)))
        before, after = old.get("entity_f1"), new.get("entity_f1")
        if before is not None and (after is None or after < before - ENTITY_TOLERANCE):
            reasons.append(f"{language}: entity F1 {_f(after)} against {_f(before)}")
        paired = _paired(old, new)
        if paired is None:
            rows += _f1_rows(language, old, new, reasons)
            continue
        lost, gained = _count(paired)
        changed[language] = (lost, gained)
        p = one_sided_mcnemar(lost, gained)
        if p < ALPHA:
            reasons.append(
                f"{language}: {lost} test messages now wrong that were right, {gained} the other"
                f" way (p = {p:.3f})"
            )
        for intent in sorted(set(old["intents"]) | set(new["intents"])):
            o, n = old["intents"].get(intent), new["intents"].get(intent)
            lost, gained = _count([pair for pair in paired if pair[0] == intent])
            row = IntentRow(
                language, intent, (n or o or {}).get("support", 0), o and o["f1"],
                n and n["f1"], lost, gained,
            )  # fmt: skip
            rows.append(row)
            p = one_sided_mcnemar(lost, gained)
            if p < INTENT_ALPHA:
                reasons.append(
                    f"{language}: {intent}: {lost} test messages now wrong that were right,"
                    f" {gained} the other way (p = {p:.3f})"
                )
    return Comparison(rows, totals, changed, not reasons, reasons)


def _paired(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, bool, bool]] | None:
    """(intent, running right, candidate right) for each test message both read; None when
    either kept no predictions."""
    if not old.get("predictions") or not new.get("predictions"):
        return None
    before = {(text, intent): predicted for text, intent, predicted in old["predictions"]}
    return [
        (intent, before[(text, intent)] == intent, predicted == intent)
        for text, intent, predicted in new["predictions"]
        if (text, intent) in before
    ]


def _count(paired: list[tuple[str, bool, bool]]) -> tuple[int, int]:
    lost = sum(1 for _, was, now in paired if was and not now)
    gained = sum(1 for _, was, now in paired if now and not was)
    return lost, gained


def _f1_rows(
    language: str, old: dict[str, Any], new: dict[str, Any], reasons: list[str]
) -> list[IntentRow]:
    """The rule for scores without predictions: macro-F1 and each intent's F1."""
    before, after = old.get("macro_f1"), new.get("macro_f1")
    if before is not None and (after is None or after < before - F1_TOLERANCE):
        reasons.append(f"{language}: intent macro-F1 {_f(after)} against {_f(before)}")
    rows = []
    for intent in sorted(set(old["intents"]) | set(new["intents"])):
        o, n = old["intents"].get(intent), new["intents"].get(intent)
        row = IntentRow(
            language, intent, (n or o or {}).get("support", 0), o and o["f1"], n and n["f1"]
        )
        rows.append(row)
        if (
            row.support >= MIN_SUPPORT
            and row.running is not None
            and (row.candidate is None or row.candidate < row.running - INTENT_DROP)
        ):
            reasons.append(f"{language}: {intent} F1 {_f(row.candidate)} against {_f(row.running)}")
    return rows


def _f(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"
