"""What nlu/serve.py's changes to Rasa save, in one process, on the trained model: Rasa's own code
and serve.py's take turns message by message (the order alternating), so that a slow moment of
the machine weighs on both alike, and their answers are compared to the last digit.

    cd nlu && ../.venv-rasa/bin/python ../bench/rasa_changes.py [--rounds 2] [--each] [--messages N]

Two measures: each held-out message (nlu/tests/nlu_*.yml) parsed and a next action predicted
after it; and conversations like `bench.chat_load`'s, each message's next actions predicted
until the bot listens (no action server: the actions' own events are left out), which is where
a conversation's history counts. With `--each`, every change is also turned off on its own, the
others on, to price it alone. Prints CPU ms a message (or a prediction) for each, and how many
answers differed (intent, entities, ranking and prediction, confidences exact). Runs with Rasa's
interpreter (it imports Rasa), from nlu/ (serve.py and the model are there); it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

NLU = Path(__file__).resolve().parents[1] / "nlu"
sys.path.insert(0, str(NLU))

# Small talk in both languages, as bench.chat_load's, and a chat that verifies and promises (Rasa
# only predicts here: the actions that would verify are not run).
CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    ("你好", "你是机器人吗", "不还会怎样", "你们是真的银行吗", "谢谢", "再见"),
    ("hi", "what can you do", "are you a bot?", "what happens if i don't pay", "thanks", "bye"),
    ("hello 你好", "你能做什么", "会影响征信吗", "is this legit", "好的谢谢", "拜拜"),
    ("在吗", "are you a robot", "你们是不是骗子", "will this go on my credit report", "再见"),
    ("good morning", "你是真人吗", "逾期会有什么后果", "how do i know this is not a scam", "bye"),
    ("how much do I owe", "+86 139 0013 9003", "4321", "I can pay 2000 next friday", "yes"),
)
Switch = tuple[type[Any], str, Any, Any]  # class, attribute, Rasa's value (None: inherited), ours


def held_out_texts(most: int | None = None) -> list[str]:
    """The held-out examples' texts, read as Rasa reads them (`most` of them, evenly spread)."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts = [
        example.get("text")
        for path in sorted(glob.glob(str(NLU / "tests" / "nlu_*.yml")))
        for example in load_data(path).training_examples
    ]
    return texts[:: max(1, len(texts) // most)][:most] if most else texts


def switches() -> dict[str, list[Switch]]:
    """serve.py's changes by name, each as the class attributes it replaces."""
    import serve
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.nlu.training_data.features import Features
    from rasa.utils.tensorflow.models import RasaModel

    changes: list[tuple[str, Callable[[type[Any]], None], type[Any]]] = [
        ("types_resolved_once", serve.types_resolved_once, Event),
        ("rules_indexed", serve.rules_indexed, RulePolicy),
        ("sparse_joined_directly", serve.sparse_joined_directly, Features),
        ("graphs_run_plainly", serve.graphs_run_plainly, DaskGraphRunner),
        ("prior_states_shared", serve.prior_states_shared, Domain),
        ("predictions_called_directly", serve.predictions_called_directly, RasaModel),
    ]
    found: dict[str, list[Switch]] = {}
    for name, change, kind in changes:
        before = dict(vars(kind))
        change(kind)
        found[name] = [
            (kind, attribute, before.get(attribute), ours)
            for attribute, ours in vars(kind).items()
            if before.get(attribute) is not ours
        ]
    return found


def turn(changes: dict[str, list[Switch]], on: set[str]) -> None:
    for name, replaced in changes.items():
        for kind, attribute, rasas, ours in replaced:
            if name in on:
                setattr(kind, attribute, ours)
            elif rasas is None:
                delattr(kind, attribute)
            else:
                setattr(kind, attribute, rasas)


async def parse_and_predict(agent: Any, text: str) -> tuple[Any, ...]:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    parse = await agent.parse_message(text)
    tracker = DialogueStateTracker.from_events(
        "bench",
        [
            ActionExecuted("action_listen"),
            UserUttered(text, parse["intent"], parse["entities"], parse),
        ],
    )
    prediction = agent.processor._predict_next_with_tracker(tracker)
    return (
        parse["intent"],
        [(e["entity"], e["value"], e.get("start"), e.get("end")) for e in parse["entities"]],
        [(r["name"], r["confidence"]) for r in parse.get("intent_ranking", [])],
        prediction.max_confidence_index,
        prediction.max_confidence,
        prediction.policy_name,
    )


def conversation_predictions(
    agent: Any, parses: dict[str, dict[str, Any]], conversation: tuple[str, ...]
) -> tuple[list[Any], int]:
    """The conversation's predicted actions and the CPU ns the predictions took."""
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = agent.processor
    names = processor.domain.action_names_or_texts
    tracker = DialogueStateTracker.from_events(
        "bench",
        [ActionExecuted("action_session_start"), ActionExecuted("action_listen")],
        processor.domain.slots,
    )
    predicted: list[Any] = []
    spent = 0
    for text in conversation:
        parse = parses[text]
        tracker.update(UserUttered(text, parse["intent"], parse["entities"], parse))
        for _ in range(6):  # a turn's actions, until the bot listens
            started = time.process_time_ns()
            prediction = processor._predict_next_with_tracker(tracker)
            spent += time.process_time_ns() - started
            name = names[prediction.max_confidence_index]
            predicted.append((name, prediction.max_confidence, prediction.policy_name))
            tracker.update(ActionExecuted(name))
            if name == "action_listen":
                break
    return predicted, spent


async def compare(
    agent: Any, changes: dict[str, list[Switch]], off: str | None, rounds: int, texts: list[str]
) -> tuple[float, float, int, float, float, int]:
    """Rasa's own (every change off, or only `off` off) against serve.py's (every change on):
    ms of CPU a message, each; messages whose answers differed; then the same for a prediction
    in the conversations."""
    everything = set(changes)
    theirs = everything - {off} if off else set()
    spent = {"theirs": 0, "ours": 0}
    differ = 0
    for round_no in range(rounds):
        for i, text in enumerate(texts):
            answers = {}
            for side in ("theirs", "ours") if (i + round_no) % 2 == 0 else ("ours", "theirs"):
                turn(changes, theirs if side == "theirs" else everything)
                started = time.process_time_ns()
                answers[side] = await parse_and_predict(agent, text)
                spent[side] += time.process_time_ns() - started
            differ += answers["theirs"] != answers["ours"]
    messages = len(texts) * rounds
    parses = {t: await agent.parse_message(t) for c in CONVERSATIONS for t in c}
    predicted = {"theirs": 0, "ours": 0}
    cpu = {"theirs": 0, "ours": 0}
    differ_in_conversations = 0
    for round_no in range(rounds * 3):
        for i, conversation in enumerate(CONVERSATIONS):
            seen = {}
            for side in ("theirs", "ours") if (i + round_no) % 2 == 0 else ("ours", "theirs"):
                turn(changes, theirs if side == "theirs" else everything)
                seen[side], ns = conversation_predictions(agent, parses, conversation)
                predicted[side] += len(seen[side])
                cpu[side] += ns
            differ_in_conversations += seen["theirs"] != seen["ours"]
    return (
        spent["theirs"] / messages / 1e6,
        spent["ours"] / messages / 1e6,
        differ,
        cpu["theirs"] / predicted["theirs"] / 1e6,
        cpu["ours"] / predicted["ours"] / 1e6,
        differ_in_conversations,
    )


async def bench(args: argparse.Namespace) -> None:
    import structlog
    from rasa.core.agent import Agent
    from rasa.model import get_local_model

    changes = switches()
    agent = Agent.load(get_local_model(str(NLU / "models")))
    # Rasa's debug lines (logging's and structlog's) would be timed too: `rasa run` logs INFO.
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    texts = held_out_texts(args.messages)
    for text in texts[:10]:  # TensorFlow traces its functions on the first calls
        for on in (set(), set(changes)):
            turn(changes, on)
            await parse_and_predict(agent, text)
    print(
        f"{len(texts)} held-out messages, {args.rounds} rounds; ms of CPU, without the"
        " change(s) → with every change; answers that differ",
        flush=True,
    )
    print(f"{'':<34} {'a parse and prediction':>24} {'':>6} {'a prediction in a chat':>24}")
    for off in [None, *(changes if args.each else [])]:
        theirs, ours, differ, one, ours_one, differ_one = await compare(
            agent, changes, off, args.rounds, texts
        )
        label = "without serve.py's changes" if off is None else f"without {off}"
        print(
            f"{label:<34} {theirs:>10.2f} → {ours:>10.2f} {differ:>6}"
            f" {one:>10.3f} → {ours_one:>10.3f} {differ_one:>6}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--messages", type=int, help="only N held-out messages, evenly spread")
    parser.add_argument("--each", action="store_true", help="also each change off on its own")
    asyncio.run(bench(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
