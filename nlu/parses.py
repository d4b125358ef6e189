"""Messages that arrive together are parsed together: one run of Rasa's NLU graph for all the
messages waiting when the NLU is next free, instead of one run each (channels.py parses every
message through here).

Rasa parses a message on its event loop, so while one message is parsed the others that arrive
wait; when the parse ends they are all there. DIET is most of a parse, and one DIET prediction
for sixteen messages costs little more than for one (serve.py's `diet_predicts_together`; Rasa
predicts a graph run's messages one by one): DIET's share fell from 6 to 8 ms of CPU a message
to about 3 four at a time and under 2 sixteen at a time (bench/parse_together.py). A message
alone is parsed by Rasa's own `processor.parse_message`, as before: nothing waits to make a
batch, so one borrower waits no longer.

The graph's answers are Rasa's: the same intents, rankings and entities as parsing each alone;
confidences differ from those only in float32 rounding (at most 2e-6 over 2,664 held-out
messages in random batches). A batch whose run fails is parsed again one message at a time, so
a message Rasa cannot parse fails alone."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)

log = logging.getLogger(__name__)

# The most messages one graph run takes: sixteen parse in 45 to 70 ms of a 2-core machine's
# CPU, the longest any other turn then waits for the event loop.
MOST = 16
# The loop turns a run waits for more messages to join while more keep joining: a message read
# in the same turn of the event loop as another reaches its parse a turn or two later.
GATHER_TURNS = 3
AFTER_SECONDS = 0.5  # the most a run waits for its messages' `after` events


@dataclass
class _Waiting:
    processor: Any
    message: UserMessage
    after: asyncio.Event | None
    answer: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ParsedTogether:
    """Parses on one event loop, batched: `await parse(processor, message)` answers as
    `processor.parse_message(message)` does."""

    def __init__(self, most: int = MOST) -> None:
        self.most = most
        self._waiting: list[_Waiting] = []
        self._parsing: asyncio.Task[None] | None = None

    async def parse(
        self, processor: Any, message: UserMessage, after: asyncio.Event | None = None
    ) -> dict[str, Any]:
        """The message's parse, made once `after` is set (or AFTER_SECONDS have passed): the
        parse holds the event loop, so what must be on its way first waits for nothing then."""
        waiting = _Waiting(processor, message, after)
        self._waiting.append(waiting)
        if self._parsing is None or self._parsing.done():
            self._parsing = asyncio.create_task(self._parse_waiting())
            self._parsing.add_done_callback(self._stopped)
        return await waiting.answer

    def _stopped(self, parsing: asyncio.Task[None]) -> None:
        """A parsing task that stopped (cancelled at shutdown, even before it began, or worse)
        leaves its queue here: no caller waits for ever."""
        if parsing.cancelled() or parsing.exception() is not None:
            _not_parsed(self._waiting)
            self._waiting.clear()

    async def _parse_waiting(self) -> None:
        taken: list[_Waiting] = []
        try:
            while self._waiting:
                await joined(self._waiting)
                taken = self._waiting[: self.most]
                del self._waiting[: self.most]
                await _all_set([w.after for w in taken if w.after is not None])
                # A new model swaps the processor: each message goes to the one it was sent to.
                by_processor: dict[int, list[_Waiting]] = {}
                for waiting in taken:
                    if not waiting.answer.done():  # not given up meanwhile
                        by_processor.setdefault(id(waiting.processor), []).append(waiting)
                for group in by_processor.values():
                    await _answer(group)
        except BaseException:  # cancelled at shutdown, or worse: the run's callers (`_stopped`
            _not_parsed(taken)  # answers those still queued)
            raise


def _not_parsed(waiting: list[_Waiting]) -> None:
    for one in waiting:
        if not one.answer.done():
            one.answer.set_exception(RuntimeError("the message was not parsed"))


async def joined(waiting: list[Any]) -> None:
    """Yield the event loop so that the messages already read join `waiting`, then up to
    GATHER_TURNS more turns while more keep joining."""
    await asyncio.sleep(0)
    for _ in range(GATHER_TURNS):
        count = len(waiting)
        await asyncio.sleep(0)
        if len(waiting) == count:
            break


async def _all_set(events: list[asyncio.Event]) -> None:
    unset = [asyncio.ensure_future(event.wait()) for event in events if not event.is_set()]
    if unset:
        _, late = await asyncio.wait(unset, timeout=AFTER_SECONDS)
        for waiting in late:
            waiting.cancel()


async def _answer(group: list[_Waiting]) -> None:
    processor = group[0].processor
    messages = [waiting.message for waiting in group]
    try:
        parses: list[Any] = await parsed_together(processor, messages)
    except Exception as exc:  # the kind only: an error's text can hold the borrower's words
        kind = type(exc).__name__
        log.warning("a parse of %d messages failed (%s): each parsed alone", len(group), kind)
        parses = []
        for message in messages:
            try:
                parses.append(await processor.parse_message(message))
            except Exception as alone:
                parses.append(alone)
    for waiting, parse in zip(group, parses, strict=True):
        if waiting.answer.done():
            continue
        if isinstance(parse, Exception):
            waiting.answer.set_exception(parse)
        else:
            waiting.answer.set_result(parse)


async def parsed_together(processor: Any, messages: list[UserMessage]) -> list[dict[str, Any]]:
    """Rasa's `parse_message` for each message, the NLU graph run once for all of them."""
    if len(messages) == 1 or getattr(processor, "http_interpreter", None) is not None:
        return [await processor.parse_message(message) for message in messages]
    target = processor.model_metadata.nlu_target
    # Rasa gives its NLU graph an empty tracker of the message's sender; the graph reads none.
    empty = DialogueStateTracker.from_events(messages[0].sender_id, [])
    results = processor.graph_runner.run(
        inputs={PLACEHOLDER_MESSAGE: messages, PLACEHOLDER_TRACKER: empty}, targets=[target]
    )
    parsed = results[target]
    if len(parsed) != len(messages):
        raise RuntimeError(f"{len(messages)} messages parsed as {len(parsed)}")
    parses = []
    for message in parsed:  # as processor._parse_message_with_graph and parse_message
        parse_data: dict[str, Any] = {
            TEXT: "",
            INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
            ENTITIES: [],
        }
        parse_data.update(message.as_dict(only_output_properties=True))
        processor._update_full_retrieval_intent(parse_data)
        processor._check_for_unseen_features(parse_data)
        parses.append(parse_data)
    return parses
