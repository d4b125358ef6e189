"""What parsing messages together saves (nlu/parses.py, serve.py's `diet_predicts_together`), in
one process on the trained model, with serve.py's changes to Rasa on:

    cd nlu && ../.venv-rasa/bin/python ../bench/parse_together.py [--rounds 3] [--messages 320]

The held-out messages are parsed one at a time (Rasa's `parse_message`) and then 4 and 16 at a
time (one run of the NLU graph each, as the gateway's channel parses the messages that arrive
together), the two taking turns each round so that a slow moment of the machine weighs on both.
Prints CPU ms a message for the whole parse and for DIET's part of it, and how many parses
differed from the one-at-a-time parse of the same message (intent, ranking order, entities;
confidences within 1e-5). Runs with Rasa's interpreter, from nlu/; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

NLU = Path(__file__).resolve().parents[1] / "nlu"
sys.path.insert(0, str(NLU))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZES = (4, 16)


def decided(parse: dict[str, Any]) -> tuple[Any, ...]:
    """What Rasa acts on in a parse; confidences apart."""
    return (
        parse["intent"]["name"],
        [ranked["name"] for ranked in parse.get("intent_ranking", [])],
        [(e["entity"], e["start"], e["end"], e["value"]) for e in parse["entities"]],
    )


def agree(mine: dict[str, Any], rasas: dict[str, Any]) -> bool:
    mine_confidence, rasas_confidence = mine["intent"]["confidence"], rasas["intent"]["confidence"]
    return decided(mine) == decided(rasas) and abs(mine_confidence - rasas_confidence) <= 1e-5


async def bench(args: argparse.Namespace) -> None:
    import serve
    import structlog
    from parses import parsed_together
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.model import get_local_model
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa_changes import held_out_texts

    # Rasa's debug lines (logging's and structlog's) would be timed too: `rasa run` logs INFO.
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    serve.apply_speedups()
    spent = {"diet": 0.0}
    batched = DIETClassifier.process

    def timed(self: Any, messages: list[Any]) -> list[Any]:
        started = time.process_time()
        try:
            return batched(self, messages)
        finally:
            spent["diet"] += time.process_time() - started

    DIETClassifier.process = timed  # before the model loads: its graph takes the method then
    processor = Agent.load(get_local_model(str(NLU / "models"))).processor
    texts = held_out_texts(args.messages)
    alone = [await processor.parse_message(UserMessage(t, sender_id="a")) for t in texts]

    async def cpu_ms(size: int) -> tuple[float, float, int]:
        spent["diet"] = 0.0
        started = time.process_time()
        got: list[dict[str, Any]] = []
        for at in range(0, len(texts), size):
            chunk = [UserMessage(t, sender_id="a") for t in texts[at : at + size]]
            got += await parsed_together(processor, chunk)
        whole = (time.process_time() - started) / len(texts) * 1000
        differ = sum(not agree(mine, rasas) for mine, rasas in zip(got, alone, strict=True))
        return whole, spent["diet"] / len(texts) * 1000, differ

    print(f"{len(texts)} held-out messages; CPU ms a message (parse, of which DIET)")
    print("round  " + "  ".join(f"{'alone':>13}  {f'{n} together':>13}  differ" for n in SIZES))
    for round_ in range(1, args.rounds + 1):
        cells = []
        for size in SIZES:
            if round_ % 2:  # the order alternates
                (one, one_diet, _), (many, many_diet, differ) = await cpu_ms(1), await cpu_ms(size)
            else:
                (many, many_diet, differ), (one, one_diet, _) = await cpu_ms(size), await cpu_ms(1)
            cells.append(
                f"{one:5.2f} ({one_diet:4.2f})  {many:5.2f} ({many_diet:4.2f})  {differ:6d}"
            )
        print(f"{round_:5d}  " + "  ".join(cells), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=320, help="held-out messages parsed")
    asyncio.run(bench(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
