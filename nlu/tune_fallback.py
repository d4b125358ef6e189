"""Choose the FallbackClassifier's threshold and ambiguity threshold by cross-validation:
`make tune-fallback` (slow: it trains the NLU pipeline once per fold).

Each training example is held out once; the pipeline, without its fallback, is trained on the
other folds and classifies it. A threshold pair is scored by how many held-out messages it gets
right: a correct prediction above it is kept, a wrong one below it is caught (asked again)
instead of acted on. The best pair is printed and written to results/fallback_tuning.json;
set it in config.yml.

`--small` (`make tune-fallback SMALL=1`) runs the same steps in a minute or two to check that
they work: 2 folds over at most 12 examples an intent, a small DIET (1 epoch, no transformer
layer, no entities: its TensorFlow graph loads in seconds), the report written to
results/fallback_tuning_small.json. Its thresholds mean nothing; never set them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.training_data import TrainingData

HERE = Path(__file__).resolve().parent
FOLDS = 3
# --small: enough to run every step, not to choose thresholds
SMALL_FOLDS, SMALL_PER_INTENT = 2, 12
SMALL_DIET = {"epochs": 1, "number_of_transformer_layers": 0, "entity_recognition": False}


def folds(
    data: TrainingData, count: int = FOLDS, per_intent: int | None = None
) -> list[tuple[TrainingData, TrainingData]]:
    """`count` folds, each intent's examples spread evenly (only `per_intent` of them when
    given)."""
    by_intent = defaultdict(list)
    for example in data.intent_examples:
        by_intent[example.get("intent")].append(example)
    buckets: list[list] = [[] for _ in range(count)]
    rng = random.Random(7)
    for examples in by_intent.values():
        rng.shuffle(examples)
        for k, example in enumerate(examples[:per_intent]):
            buckets[k % count].append(example)
    result = []
    for k in range(count):
        train = [e for j, b in enumerate(buckets) if j != k for e in b]
        result.append((TrainingData(train, regex_features=data.regex_features), TrainingData(buckets[k])))
    return result


def config_without_fallback(tmp: Path, diet: dict | None = None) -> Path:
    """config.yml without its fallback and policies; `diet` overrides DIET's settings."""
    config = yaml.safe_load((HERE / "config.yml").read_text())
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"]
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component.update(diet or {})
    config.pop("policies", None)
    path = tmp / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


async def predictions(model: Path, held_out: TrainingData) -> list[tuple[str, str, float, float]]:
    agent = Agent.load(str(model))
    rows = []
    for example in held_out.intent_examples:
        parsed = await agent.parse_message(example.get("text"))
        ranking = parsed.get("intent_ranking") or [parsed["intent"]]
        second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
        rows.append((example.get("intent"), parsed["intent"]["name"], parsed["intent"]["confidence"], second))
    return rows


def score(rows: list[tuple[str, str, float, float]], threshold: float, ambiguity: float) -> float:
    good = 0
    for truth, predicted, confidence, second in rows:
        accepted = confidence >= threshold and confidence - second >= ambiguity
        good += accepted == (truth == predicted)
    return good / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--small", action="store_true",
        help=f"{SMALL_FOLDS} folds, {SMALL_PER_INTENT} examples an intent, a small DIET: "
        "checks the steps, chooses nothing",
    )
    args = parser.parse_args(argv)
    count, per_intent, diet = (SMALL_FOLDS, SMALL_PER_INTENT, SMALL_DIET) if args.small else (FOLDS, None, None)
    data = load_data(str(HERE / "data" / "nlu"))
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        config = config_without_fallback(tmp, diet)
        for k, (train, held_out) in enumerate(folds(data, count, per_intent)):
            train_file = tmp / f"train_{k}.yml"
            train_file.write_text(train.nlu_as_yaml())
            print(f"fold {k + 1}/{count}: training on {len(train.intent_examples)} examples", flush=True)
            subprocess.run(
                [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config),
                 "--nlu", str(train_file), "--out", str(tmp), "--fixed-model-name", f"fold{k}"],
                cwd=HERE, check=True, stdout=subprocess.DEVNULL,
            )
            rows += asyncio.run(predictions(tmp / f"fold{k}.tar.gz", held_out))
    grid = [
        (t / 100, a / 100, score(rows, t / 100, a / 100))
        for t in range(20, 91, 5)
        for a in (0, 2, 5, 10, 15)
    ]
    best = max(grid, key=lambda g: (round(g[2], 4), -g[0], -g[1]))
    accuracy = sum(t == p for t, p, _, _ in rows) / len(rows)
    report = {
        "held_out_examples": len(rows),
        "accuracy_without_fallback": round(accuracy, 4),
        "threshold": best[0],
        "ambiguity_threshold": best[1],
        "decisions_right": round(best[2], 4),
        "grid": [{"threshold": t, "ambiguity": a, "right": round(s, 4)} for t, a, s in grid],
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    name = "fallback_tuning_small.json" if args.small else "fallback_tuning.json"
    (out / name).write_text(json.dumps(report, indent=2))
    print(
        ("small run (its thresholds mean nothing): " if args.small else "")
        + f"{len(rows)} held-out messages, accuracy {accuracy:.3f} without a fallback; best: "
        f"threshold {best[0]}, ambiguity_threshold {best[1]} ({best[2]:.3f} of decisions right)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
