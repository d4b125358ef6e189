"""Score the trained model on the held-out test split, per language: `make nlu-test`.

Prints intent macro-F1 and entity F1 for Chinese and English and fails below the thresholds
(intent 0.95, entities 0.90). Run from nlu/ with the Rasa virtualenv's Python.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from train import model_path

HERE = Path(__file__).resolve().parent
INTENT_MIN, ENTITY_MIN = 0.95, 0.90


def score(lang: str) -> tuple[float, float]:
    out = HERE / "results" / lang
    subprocess.run(
        [
            sys.executable, "-m", "rasa", "test", "nlu",
            "--model", str(model_path()), "--nlu", f"tests/nlu_{lang}.yml", "--out", str(out),
            "--domain", "domain",
            "--no-plot",
        ],
        cwd=HERE,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    intents = json.loads((out / "intent_report.json").read_text())
    entities_file = out / "DIETClassifier_report.json"
    entities = json.loads(entities_file.read_text()) if entities_file.exists() else {}
    entity_f1 = entities.get("micro avg", {}).get("f1-score", 0.0)
    return intents["macro avg"]["f1-score"], entity_f1


def main() -> int:
    failed = False
    for lang in ("zh", "en"):
        intent_f1, entity_f1 = score(lang)
        ok = intent_f1 >= INTENT_MIN and entity_f1 >= ENTITY_MIN
        failed |= not ok
        print(
            f"NLU {lang}: intent macro-F1 {intent_f1:.3f} (min {INTENT_MIN}), "
            f"entity F1 {entity_f1:.3f} (min {ENTITY_MIN}) {'ok' if ok else 'BELOW THRESHOLD'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
