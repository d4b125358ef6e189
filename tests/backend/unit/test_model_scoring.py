"""A retrained model against the running one: the scores kept from Rasa's evaluation, the
not-worse rule, and the one-document training payload built from the NLU project."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from backend.config import ROOT
from backend.tuning.scoring import compare, one_sided_mcnemar, summarise
from backend.tuning.training_payload import count_examples, held_out_languages, training_document


def evaluation(
    macro: float, intents: dict[str, tuple[float, int]], entity: float = 0.95
) -> dict[str, Any]:
    """Rasa's /model/test/intents answer, trimmed to what is read."""
    report: dict[str, Any] = {
        name: {"precision": f1, "recall": f1, "f1-score": f1, "support": n, "confused_with": {}}
        for name, (f1, n) in intents.items()
    }
    report["accuracy"] = 0.97
    report["macro avg"] = {"f1-score": macro, "support": 99}
    report["weighted avg"] = {"f1-score": macro, "support": 99}
    return {
        "intent_evaluation": {"report": report, "predictions": []},
        "entity_evaluation": {"DIETClassifier": {"report": {"micro avg": {"f1-score": entity}}}},
    }


def test_summary_keeps_totals_and_each_intent() -> None:
    summary = summarise(evaluation(0.95123, {"greet": (1.0, 10), "deny": (0.9, 8)}, entity=0.9))
    assert summary == {
        "macro_f1": 0.9512,
        "accuracy": 0.97,
        "entity_f1": 0.9,
        "intents": {"greet": {"f1": 1.0, "support": 10}, "deny": {"f1": 0.9, "support": 8}},
    }


def test_summary_without_entities_or_report() -> None:
    assert summarise({})["intents"] == {}
    assert summarise({"intent_evaluation": {"report": {}}})["entity_f1"] is None


def scores(macro: float, greet: float, deny: float = 0.9, entity: float = 0.95) -> dict[str, Any]:
    return summarise(evaluation(macro, {"greet": (greet, 10), "deny": (deny, 3)}, entity))


def test_equal_or_better_is_not_worse() -> None:
    running = {"zh": scores(0.95, 0.95), "en": scores(0.96, 0.9)}
    result = compare(running, {"zh": scores(0.95, 0.95), "en": scores(0.97, 0.93)})
    assert result.not_worse and result.reasons == []
    assert ("en", "macro_f1", 0.96, 0.97) in result.totals
    [en_greet] = [r for r in result.rows if (r.language, r.intent) == ("en", "greet")]
    assert en_greet.change == 0.03


def test_within_tolerance_is_not_worse() -> None:
    # 0.955 is 0.005 below 0.96: inside the 0.01 tolerance
    assert compare({"zh": scores(0.96, 0.9)}, {"zh": scores(0.955, 0.9)}).not_worse


def test_macro_f1_below_tolerance_is_worse() -> None:
    result = compare({"zh": scores(0.96, 0.9)}, {"zh": scores(0.94, 0.9)})
    assert not result.not_worse
    assert result.reasons == ["zh: intent macro-F1 0.940 against 0.960"]


def test_entity_f1_below_tolerance_is_worse() -> None:
    result = compare({"en": scores(0.96, 0.9, entity=0.95)}, {"en": scores(0.96, 0.9, entity=0.9)})
    assert result.reasons == ["en: entity F1 0.900 against 0.950"]


def test_one_intent_falling_is_worse_even_when_the_average_holds() -> None:
    # greet (10 test examples) loses 0.15 > 0.10
    result = compare({"zh": scores(0.95, 0.95)}, {"zh": scores(0.95, 0.80)})
    assert result.reasons == ["zh: greet F1 0.800 against 0.950"]


def test_an_intent_with_few_test_examples_does_not_decide() -> None:
    # deny has 3 test examples: a drop of 0.4 is noise at that size
    assert compare(
        {"zh": scores(0.95, 0.9, deny=0.9)}, {"zh": scores(0.95, 0.9, deny=0.5)}
    ).not_worse


def test_a_language_without_scores_is_worse() -> None:
    result = compare({"zh": scores(0.95, 0.9), "en": scores(0.95, 0.9)}, {"zh": scores(0.95, 0.9)})
    assert result.reasons == ["en: no scores for the candidate"]


def test_training_document_holds_config_domain_and_data(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu"
    for part in ("domain", "data", "tests"):
        shutil.copytree(ROOT / "nlu" / part, nlu / part)
    shutil.copy(ROOT / "nlu" / "config.yml", nlu / "config.yml")
    (nlu / "data" / "nlu" / "labelled.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 哈喽哈喽\n', encoding="utf-8"
    )
    text, examples = training_document(nlu)
    document = yaml.safe_load(text)
    base = yaml.safe_load((ROOT / "nlu" / "domain" / "base.yml").read_text(encoding="utf-8"))
    responses = yaml.safe_load(
        (ROOT / "nlu" / "domain" / "responses.yml").read_text(encoding="utf-8")
    )
    config = yaml.safe_load((ROOT / "nlu" / "config.yml").read_text(encoding="utf-8"))
    assert document["pipeline"] == config["pipeline"] and document["policies"] == config["policies"]
    assert document["intents"] == base["intents"]
    assert set(responses["responses"]) <= set(document["responses"])
    assert document["rules"], "the dialogue rules train too"
    assert any("哈喽哈喽" in block.get("examples", "") for block in document["nlu"])
    every = []
    for path in (nlu / "data").rglob("*.yml"):
        every += yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []
    assert examples == count_examples(every) > 3000
    assert held_out_languages(nlu) == ["en", "zh"]


def test_mcnemar_exact_one_sided_tail() -> None:
    assert one_sided_mcnemar(0, 4) == 1.0
    assert one_sided_mcnemar(2, 0) == 0.25  # two messages lost, none gained: chance
    assert one_sided_mcnemar(5, 0) == 1 / 32
    # 10 of 12 changes against the candidate: (C(12,10) + C(12,11) + C(12,12)) / 2**12
    assert one_sided_mcnemar(10, 2) == (66 + 12 + 1) / 4096


def read(
    intent_rights: dict[str, tuple[int, int]], flip: dict[str, int] | None = None
) -> dict[str, Any]:
    """A summary whose predictions get `right` of `n` test messages of each intent right;
    `flip` moves that many right answers of an intent to wrong ones (counted from the end)."""
    predictions = []
    for intent, (right, n) in intent_rights.items():
        wrong_from = right - (flip or {}).get(intent, 0)
        for i in range(n):
            predictions.append(
                [f"{intent} {i}", intent, intent if i < wrong_from else "nlu_fallback"]
            )
    summary = summarise(evaluation(0.9, {name: (0.9, n) for name, (_, n) in intent_rights.items()}))
    summary["predictions"] = predictions
    return summary


def test_a_message_or_two_either_way_is_noise_not_worse() -> None:
    running = {"en": read({"goodbye": (15, 16), "greet": (16, 16)})}
    # goodbye loses 2 (F1 may fall by 0.13 on 16 messages), greet stays: p = 0.25
    candidate = {"en": read({"goodbye": (15, 16), "greet": (16, 16)}, flip={"goodbye": 2})}
    result = compare(running, candidate)
    assert result.not_worse and result.changed == {"en": (2, 0)}
    [goodbye] = [r for r in result.rows if r.intent == "goodbye"]
    assert (goodbye.lost, goodbye.gained) == (2, 0)


def test_an_intent_that_loses_many_messages_is_worse() -> None:
    running = {"zh": read({"already_paid": (12, 12), "greet": (12, 12)})}
    candidate = {
        "zh": read({"already_paid": (12, 12), "greet": (12, 12)}, flip={"already_paid": 7})
    }
    result = compare(running, candidate)
    # 7 lost, none gained: p = 1/128 < 0.01 for the intent, and < 0.05 for the language
    assert not result.not_worse
    assert result.reasons == [
        "zh: 7 test messages now wrong that were right, 0 the other way (p = 0.008)",
        "zh: already_paid: 7 test messages now wrong that were right, 0 the other way (p = 0.008)",
    ]


def test_only_messages_both_models_read_are_paired() -> None:
    running = {"en": read({"greet": (10, 10)})}
    candidate = {"en": read({"greet": (10, 10), "deny": (0, 8)})}  # deny: new test messages
    result = compare(running, candidate)
    assert result.changed == {"en": (0, 0)} and result.not_worse
