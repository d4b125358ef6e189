"""Every check of the assistant's understanding and dialogue, in one process that loads Rasa and
the trained model once (four separate `rasa` commands loaded them four times: minutes of
`make test`): `make nlu-test`. Run from nlu/ with the Rasa virtualenv's Python.

1. The project validated as `rasa data validate --fail-on-warnings` does.
2. The model scored on the held-out test split (tests/nlu_zh.yml, tests/nlu_en.yml), per
   language: intent macro-F1 at least 0.95 and entity F1 at least 0.90, or it fails.
3. The dialogue test conversations (tests/stories.yml, both languages; tests/conversations_zh.yml
   and conversations_en.yml, one language each), failing on any wrong intent, entity or action.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import rasa.cli.utils
from rasa.core.agent import Agent
from rasa.core.test import WrongPredictionException
from rasa.core.test import test as test_stories
from rasa.nlu.test import run_evaluation
from rasa.shared.importers.importer import TrainingDataImporter

from train import model_path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
INTENT_MIN, ENTITY_MIN = 0.95, 0.90


def validate() -> None:
    """Exits with Rasa's own messages when the project has an error or a warning."""
    importer = TrainingDataImporter.load_from_config(
        domain_path="domain", training_data_paths=["data"], config_path="config.yml"
    )
    rasa.cli.utils.validate_files(fail_on_warnings=True, max_history=None, importer=importer)
    print("data validated: domain, NLU data, stories and rules")


async def score(agent: Agent, lang: str) -> tuple[float, float]:
    out = RESULTS / lang
    out.mkdir(parents=True, exist_ok=True)
    await run_evaluation(
        f"tests/nlu_{lang}.yml",
        agent.processor,  # type: ignore[arg-type]
        output_directory=str(out),
        disable_plotting=True,
        domain_path="domain",
    )
    intents = json.loads((out / "intent_report.json").read_text())
    entities_file = out / "DIETClassifier_report.json"
    entities = json.loads(entities_file.read_text()) if entities_file.exists() else {}
    entity_f1 = entities.get("micro avg", {}).get("f1-score", 0.0)
    return intents["macro avg"]["f1-score"], entity_f1


async def conversations_pass(agent: Agent, stories: str) -> bool:
    out = RESULTS / "core" / stories.removesuffix(".yml")
    out.mkdir(parents=True, exist_ok=True)
    count = (HERE / "tests" / stories).read_text(encoding="utf-8").count("- story:")
    try:
        await test_stories(
            f"tests/{stories}",
            agent,
            out_directory=str(out),
            fail_on_prediction_errors=True,
            disable_plotting=True,
        )
    except WrongPredictionException as exc:
        print(f"dialogue test conversations, {stories}: {exc}")
        return False
    print(f"dialogue test conversations, {stories}: {count}, every prediction right")
    return True


async def main() -> int:
    validate()
    agent = Agent.load(model_path=str(model_path()))
    failed = False
    for lang in ("zh", "en"):
        intent_f1, entity_f1 = await score(agent, lang)
        ok = intent_f1 >= INTENT_MIN and entity_f1 >= ENTITY_MIN
        failed |= not ok
        print(
            f"NLU {lang}: intent macro-F1 {intent_f1:.3f} (min {INTENT_MIN}), "
            f"entity F1 {entity_f1:.3f} (min {ENTITY_MIN}) {'ok' if ok else 'BELOW THRESHOLD'}"
        )
    for stories in ("stories.yml", "conversations_zh.yml", "conversations_en.yml"):
        failed |= not await conversations_pass(agent, stories)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
