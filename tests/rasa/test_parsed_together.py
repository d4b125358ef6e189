"""Messages that arrive together are parsed in one run of the NLU graph (nlu/parses.py), DIET
predicting them in one call (nlu/serve.py `diet_predicts_together`): Rasa's answers, each
message's own, and a message that cannot be parsed fails alone. The first test runs the trained
model that `make train` leaves in nlu/models (make test trains before these tests run); under
CI=true a missing one fails."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE

ROOT = Path(__file__).resolve().parents[2]
NLU = ROOT / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/
sys.path.insert(0, str(ROOT / "bench"))
parses = importlib.import_module("parses")
serve = importlib.import_module("serve")
ParsedTogether = parses.ParsedTogether


def needs_the_trained_model() -> None:
    if not list((NLU / "models").glob("*.tar.gz")):
        if os.environ.get("CI") == "true":
            pytest.fail("no trained model in nlu/models: make train")
        pytest.skip("no trained model in nlu/models: make train")


@pytest.fixture(scope="module")
def processor() -> Iterator[Any]:
    """The trained model's processor, DIET as serve.py runs it (patched before the model is
    loaded: Rasa's graph takes a component's method when it loads), Rasa's DIET after."""
    from rasa.core.agent import Agent
    from rasa.model import get_local_model
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    needs_the_trained_model()
    rasas = DIETClassifier.process
    serve.diet_predicts_together(DIETClassifier)
    try:
        yield Agent.load(get_local_model(str(NLU / "models"))).processor
    finally:
        DIETClassifier.process = rasas


def what_rasa_decides(parse: dict[str, Any]) -> tuple[Any, ...]:
    """A parse without its confidences: the text, the intent, the ranking's order, the
    entities (each with the components that made it)."""
    return (
        parse["text"],
        parse["intent"]["name"],
        [ranked["name"] for ranked in parse.get("intent_ranking", [])],
        [
            (e["entity"], e["start"], e["end"], e["value"], e["extractor"], e.get("processors"))
            for e in parse["entities"]
        ],
    )


def confidences(parse: dict[str, Any]) -> list[float]:
    return [parse["intent"]["confidence"]] + [
        value
        for item in [*parse.get("intent_ranking", []), *parse["entities"]]
        for key, value in item.items()
        if key.startswith("confidence")
    ]


def test_messages_parsed_together_get_the_parse_each_gets_alone(processor: Any) -> None:
    from rasa_changes import held_out_texts

    texts = [
        *held_out_texts(100),
        *("", "   ", "/greet", "/inform{\"amount\": \"2000\"}", "😀😀", "我" * 120,
          "I can pay 2000 next friday", "下周五还两千", "hello 你好 how much do I owe"),
    ]  # fmt: skip
    alone = [asyncio.run(processor.parse_message(UserMessage(t, sender_id="a"))) for t in texts]

    runs: list[int] = []
    run = processor.graph_runner.run

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(len(kwargs["inputs"][PLACEHOLDER_MESSAGE]))
        return run(*args, **kwargs)

    processor.graph_runner.run = counted
    together = ParsedTogether()

    async def all_at_once() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(
                together.parse(processor, UserMessage(t, sender_id=f"b{i}"))
                for i, t in enumerate(texts)
            )
        )

    try:
        got = asyncio.run(all_at_once())
    finally:
        del processor.graph_runner.run
    assert runs == [16] * (len(texts) // 16) + [len(texts) % 16]  # not one run a message
    assert [what_rasa_decides(p) for p in got] == [what_rasa_decides(p) for p in alone]
    for mine, rasas in zip(got, alone, strict=True):
        assert mine.keys() == rasas.keys()
        assert confidences(mine) == pytest.approx(confidences(rasas), abs=1e-5)  # float32


class Parsed:
    def __init__(self, text: str) -> None:
        self.text = text

    def as_dict(self, only_output_properties: bool = True) -> dict[str, Any]:
        return {"text": self.text, "intent": {"name": "inform", "confidence": 0.9}}


class FakeProcessor:
    """What parses.py uses of Rasa's processor: its NLU graph (which fails on "boom", as a
    component that cannot read a message would) and its own parse of one message."""

    http_interpreter = None

    def __init__(self) -> None:
        self.runs: list[list[str]] = []
        self.alone: list[str] = []
        self.model_metadata = type("Metadata", (), {"nlu_target": "nlu"})()
        self.graph_runner = self

    def run(self, inputs: dict[str, Any], targets: list[str]) -> dict[str, Any]:
        texts = [m.text for m in inputs[PLACEHOLDER_MESSAGE]]
        self.runs.append(texts)
        if "boom" in texts:
            raise ValueError("a component failed")
        return {targets[0]: [Parsed(t) for t in texts]}

    async def parse_message(self, message: UserMessage) -> dict[str, Any]:
        self.alone.append(message.text)
        if message.text == "boom":
            raise ValueError("a component failed")
        return {"text": message.text, "intent": {"name": "alone", "confidence": 1.0}}

    def _update_full_retrieval_intent(self, parse: dict[str, Any]) -> None:
        pass

    def _check_for_unseen_features(self, parse: dict[str, Any]) -> None:
        pass


def parse_all(*items: tuple[Any, str], together: Any = None) -> list[Any]:
    together = together or ParsedTogether()

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(
            *(together.parse(p, UserMessage(t, sender_id="s")) for p, t in items),
            return_exceptions=True,
        )

    return asyncio.run(all_at_once())


def test_a_message_alone_is_parsed_by_rasas_own_parse() -> None:
    processor = FakeProcessor()
    (parse,) = parse_all((processor, "hi"))
    assert parse["intent"]["name"] == "alone" and processor.runs == []


def test_a_run_that_fails_is_parsed_again_one_by_one_and_only_the_bad_message_fails() -> None:
    processor = FakeProcessor()
    got = parse_all((processor, "a"), (processor, "boom"), (processor, "b"))
    assert processor.runs == [["a", "boom", "b"]] and processor.alone == ["a", "boom", "b"]
    assert got[0]["text"] == "a" and got[2]["text"] == "b"
    assert isinstance(got[1], ValueError)


def test_each_message_goes_to_the_processor_it_was_sent_to() -> None:
    old, new = FakeProcessor(), FakeProcessor()  # a model swapped in meanwhile
    got = parse_all((old, "a"), (new, "b"), (old, "c"), (new, "d"))
    assert (old.runs, new.runs) == ([["a", "c"]], [["b", "d"]])
    assert [p["text"] for p in got] == ["a", "b", "c", "d"]


def test_at_most_most_messages_a_run() -> None:
    processor = FakeProcessor()
    parse_all(*((processor, str(i)) for i in range(7)), together=ParsedTogether(most=3))
    assert [len(run) for run in processor.runs] == [3, 3] and processor.alone == ["6"]


def test_a_message_whose_caller_gave_up_is_not_parsed() -> None:
    processor = FakeProcessor()
    together = ParsedTogether()

    async def scenario() -> list[Any]:
        gone = asyncio.ensure_future(together.parse(processor, UserMessage("gone", sender_id="s")))
        kept = [together.parse(processor, UserMessage(t, sender_id="s")) for t in ("a", "b")]
        staying = asyncio.gather(*kept)
        await asyncio.sleep(0)
        gone.cancel()
        return await staying

    assert [p["text"] for p in asyncio.run(scenario())] == ["a", "b"]
    assert processor.runs == [["a", "b"]]


def test_the_parse_waits_for_what_must_be_on_its_way_first_and_not_forever() -> None:
    processor = FakeProcessor()
    together = ParsedTogether()
    events: list[asyncio.Event] = []
    seen: list[bool] = []
    parse = processor.parse_message

    async def noting(message: UserMessage) -> dict[str, Any]:
        seen.append(events[-1].is_set())
        return await parse(message)

    processor.parse_message = noting  # type: ignore[method-assign]

    async def scenario(set_after: float | None) -> float:
        on_its_way = asyncio.Event()
        events.append(on_its_way)
        if set_after is not None:
            asyncio.get_running_loop().call_later(set_after, on_its_way.set)
        started = time.monotonic()
        await together.parse(processor, UserMessage("a", sender_id="s"), on_its_way)
        return time.monotonic() - started

    assert asyncio.run(scenario(0.05)) < parses.AFTER_SECONDS and seen == [True]
    waited = asyncio.run(scenario(None))  # never set: parsed all the same
    assert parses.AFTER_SECONDS - 0.02 <= waited < parses.AFTER_SECONDS + 0.3
    assert seen == [True, False]


def test_the_benchmark_prices_parsing_together_and_the_answers_agree() -> None:
    needs_the_trained_model()
    result = subprocess.run(
        [sys.executable, "../bench/parse_together.py", "--rounds", "1", "--messages", "40"],
        cwd=NLU,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = re.findall(r"^ +1 +(.+)$", result.stdout, re.MULTILINE)
    figures = re.findall(r"([\d.]+) \(([\d.]+)\) +([\d.]+) \(([\d.]+)\) +(\d+)", row)
    assert len(figures) == 2  # 4 and 16 together
    for alone, alone_diet, together, together_diet, differ in figures:
        assert 0 < float(alone_diet) < float(alone) and 0 < float(together_diet) < float(together)
        assert differ == "0"


def test_no_caller_waits_for_ever_when_parsing_stops() -> None:
    class Stopped(BaseException):  # as a cancellation at shutdown: not a parse that failed
        pass

    class Stopping(FakeProcessor):
        def run(self, inputs: dict[str, Any], targets: list[str]) -> dict[str, Any]:
            raise Stopped

    processor, together = Stopping(), ParsedTogether()

    async def scenario() -> list[Any]:
        waiting = [together.parse(processor, UserMessage(t, sender_id="s")) for t in "ab"]
        got = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 5)
        with pytest.raises(Stopped):
            await together._parsing  # type: ignore[misc]
        return [*got, await together.parse(FakeProcessor(), UserMessage("c", sender_id="s"))]

    first, second, later = asyncio.run(scenario())
    assert isinstance(first, RuntimeError) and isinstance(second, RuntimeError)
    assert later["text"] == "c"  # the next message is parsed again


def test_no_caller_waits_when_parsing_is_cancelled_before_it_began() -> None:
    together = ParsedTogether()

    async def scenario() -> list[Any]:
        message = UserMessage("a", sender_id="s")
        waiting = asyncio.ensure_future(together.parse(FakeProcessor(), message))
        await asyncio.sleep(0)  # queued, its parsing task made and not yet run
        together._parsing.cancel()  # type: ignore[union-attr]
        return await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 2)

    (got,) = asyncio.run(scenario())
    assert isinstance(got, RuntimeError)


def test_rasa_still_trains_with_diet_predicting_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Rasa that retrains in production (`rasa-trainer`) runs serve.py: Rasa checks each
    component's method against the graph before it trains, by its signature and annotations."""
    import rasa.engine.validation
    import rasa.shared.utils.io
    from rasa.engine.recipes.recipe import Recipe
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.shared.data import TrainingType

    monkeypatch.chdir(NLU)  # the custom tokenizer is found as Rasa finds it there
    monkeypatch.setattr(DIETClassifier, "process", DIETClassifier.process)  # restored after
    serve.diet_predicts_together(DIETClassifier)
    config = rasa.shared.utils.io.read_config_file(NLU / "config.yml")
    recipe = Recipe.recipe_for_name(config["recipe"])
    for training_type in (TrainingType.BOTH, TrainingType.NLU):
        configuration = recipe.graph_config_for_recipe(config, {}, training_type=training_type)
        rasa.engine.validation.validate(configuration)  # raises on a method Rasa cannot call
