"""A turn runs once however often the gateway sends it (nlu/turns.py, with Rasa's own lock store,
tracker and events): a try again of a turn the tracker has is answered from there; the
conversation's lock outlives a slow turn but not a dead holder; and the gateway's channel
answers 503 when a turn fails (nlu/channels.py)."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/
turns = importlib.import_module("turns")
channels = importlib.import_module("channels")

BUTTONS = [{"title": "查余额", "payload": "/check_balance"}]


def message(text: str, **metadata: Any) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), "webchat:w-1", metadata=metadata)


class FakeRasa:
    """Rasa's processor as far as a turn goes: it answers and saves the turn in the tracker."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.tracker = DialogueStateTracker.from_events("webchat:w-1", [])
        self.runs = 0
        self.parsed = 0
        self.seconds = seconds

    async def parse_message(self, message: UserMessage) -> dict[str, Any]:
        self.parsed += 1
        intent = {"name": "greet", "confidence": 0.97}
        entities = [{"entity": "amount", "value": "2500", "start": 0, "end": 3,
                     "extractor": "DIETClassifier", "confidence_entity": 0.9}]  # fmt: skip
        return {"text": message.text, "intent": intent, "entities": entities,
                "intent_ranking": [intent]}  # fmt: skip

    async def handle_message(self, message: UserMessage) -> None:
        """Rasa's processor: a message that carries its parse is not parsed again."""
        self.runs += 1
        await asyncio.sleep(self.seconds)
        parse = message.parse_data or await self.parse_message(message)
        answer = BotUttered(f"answer {self.runs}", data={"buttons": BUTTONS})
        await message.output_channel.send_response(message.sender_id, answer.message())
        said = UserUttered(message.text, parse["intent"], parse["entities"], parse,
                           metadata=message.metadata)  # fmt: skip
        for event in (said, answer):
            self.tracker.update(event)

    async def process(self, message: UserMessage) -> dict[str, Any]:
        """What the channel hands run_once: parse, then the turn; the parse is the reading."""
        message.parse_data = await self.parse_message(message)
        await self.handle_message(message)
        return message.parse_data

    async def tracker_of(self, sender_id: str) -> DialogueStateTracker:
        return self.tracker


class TestRepliesIn:
    def test_the_replies_to_a_turn_as_the_channel_sent_them(self) -> None:
        tracker = DialogueStateTracker.from_events(
            "webchat:w-1",
            [
                UserUttered("你好", metadata={"turn": "w1"}),
                ActionExecuted("utter_greet"),
                BotUttered("您好", data={"buttons": BUTTONS}),
                BotUttered(None, data={"custom": {"request_contact": True}}),
                ActionExecuted("action_listen"),
                UserUttered("谢谢", metadata={"turn": "w2"}),
                BotUttered("不客气"),
            ],
        )
        first = asyncio.run(turns.replies_in(tracker, "w1"))
        assert first is not None and first.replies == [
            {"recipient_id": "webchat:w-1", "text": "您好", "buttons": BUTTONS},
            {"recipient_id": "webchat:w-1", "custom": {"request_contact": True}},
        ]
        second = asyncio.run(turns.replies_in(tracker, "w2"))
        assert second is not None and second.replies == [
            {"recipient_id": "webchat:w-1", "text": "不客气"}
        ]
        assert asyncio.run(turns.replies_in(tracker, "w3")) is None


class TestRunOnce:
    def turns(self, rasa: FakeRasa, *messages: UserMessage) -> list[Any]:
        store = InMemoryLockStore()

        async def all_at_once() -> list[Any]:
            return list(
                await asyncio.gather(
                    *(turns.run_once(store, rasa.tracker_of, m, rasa.process) for m in messages)
                )
            )

        return asyncio.run(all_at_once())

    def run(self, rasa: FakeRasa, *messages: UserMessage) -> list[list[dict[str, Any]]]:
        return [turn.replies for turn in self.turns(rasa, *messages)]

    def test_a_turn_carries_the_reading_its_message_was_run_with(self) -> None:
        rasa = FakeRasa()
        [first] = self.turns(rasa, message("两千五", turn="w1"))
        [again] = self.turns(rasa, message("两千五", turn="w1", retry=True))
        assert first.reading["intent"] == {"name": "greet", "confidence": 0.97}
        # The try again reads it from the tracker.
        assert channels.reading_of(again.reading) == channels.reading_of(first.reading)
        assert rasa.parsed == 1  # parsed once: the processor took that parse

    def test_a_try_again_of_a_turn_rasa_ran_is_answered_from_the_tracker(self) -> None:
        rasa = FakeRasa()
        [first] = self.run(rasa, message("你好", turn="w1"))
        [again] = self.run(rasa, message("你好", turn="w1", retry=True))
        assert first == again == [{"recipient_id": "webchat:w-1", "text": "answer 1",
                                   "buttons": BUTTONS}]  # fmt: skip
        assert rasa.runs == 1

    def test_a_try_again_of_a_turn_rasa_never_ran_runs_now(self) -> None:
        rasa = FakeRasa()
        [reply] = self.run(rasa, message("你好", turn="w1", retry=True))
        assert reply[0]["text"] == "answer 1" and rasa.runs == 1

    def test_a_try_again_while_the_first_still_runs_waits_and_gets_its_answer(self) -> None:
        rasa = FakeRasa(seconds=0.3)
        first, again = self.run(
            rasa, message("你好", turn="w1"), message("你好", turn="w1", retry=True)
        )
        assert first == again and rasa.runs == 1

    def test_a_new_message_is_never_looked_up(self) -> None:
        rasa = FakeRasa()
        self.run(rasa, message("你好", turn="w1"))
        self.run(rasa, message("你好", turn="w1"))  # not marked as a try again: a turn of its own
        assert rasa.runs == 2


class TestConversationLock:
    def test_a_dead_holders_ticket_is_gone_after_its_lifetime(self) -> None:
        store = InMemoryLockStore()
        store.issue_ticket("webchat:w-1", 0.5)  # its holder died: never renewed nor cleaned up

        async def take() -> float:
            started = time.monotonic()
            async with turns.conversation_lock(store, "webchat:w-1", seconds=0.5):
                return time.monotonic() - started

        assert 0.3 < asyncio.run(take()) < 3

    def test_a_slow_turn_keeps_the_lock_past_its_lifetime(self) -> None:
        store = InMemoryLockStore()
        order: list[str] = []

        async def turn(name: str, start: float, seconds: float) -> None:
            await asyncio.sleep(start)
            async with turns.conversation_lock(store, "webchat:w-1", seconds=0.4):
                order.append(f"{name} in")
                await asyncio.sleep(seconds)
                order.append(f"{name} out")

        async def both() -> None:
            await asyncio.gather(turn("slow", 0, 1.5), turn("next", 0.1, 0))

        asyncio.run(both())
        assert order == ["slow in", "slow out", "next in", "next out"]

    def test_a_lock_store_that_is_down_fails_the_turn(self) -> None:
        class Down(InMemoryLockStore):
            def get_or_create_lock(self, conversation_id: str) -> Any:
                raise ConnectionError("Redis is down")

        async def take() -> None:
            async with turns.conversation_lock(Down(), "webchat:w-1"):
                pass

        with pytest.raises(turns.TurnFailed):
            asyncio.run(take())


class TestTheChannelsAnswer:
    def agent(self, rasa: FakeRasa, *, ready: bool = True) -> Any:
        return SimpleNamespace(
            is_ready=lambda: ready,
            lock_store=InMemoryLockStore(),
            tracker_store=SimpleNamespace(retrieve=rasa.tracker_of),
            processor=rasa,
        )

    def answer(self, agent: Any, body: dict[str, Any]) -> tuple[int, Any]:
        gateway = channels.GatewayInput("gateway-secret", "http://backend", "svc")
        return asyncio.run(gateway.answer(agent, body))

    def test_the_replies_of_a_turn(self) -> None:
        rasa = FakeRasa()
        body = {"sender": "webchat:w-1", "message": "你好", "metadata": {"turn": "w1"}}
        status, replies = self.answer(self.agent(rasa), body)
        assert status == 200 and replies[0]["text"] == "answer 1"

    def test_asked_for_it_the_reading_comes_with_the_replies(self) -> None:
        rasa = FakeRasa()
        body = {"sender": "webchat:w-1", "message": "两千五", "metadata": {"turn": "w1"}}
        gateway = channels.GatewayInput("gateway-secret", "http://backend", "svc")
        status, answer = asyncio.run(gateway.answer(self.agent(rasa), body, with_reading=True))
        assert status == 200 and answer["replies"][0]["text"] == "answer 1"
        # What the backend stores: no ranking, no text, no entity confidence.
        assert answer["reading"] == {
            "intent": "greet",
            "confidence": 0.97,
            "entities": [
                {
                    "entity": "amount",
                    "value": "2500",
                    "start": 0,
                    "end": 3,
                    "extractor": "DIETClassifier",
                }
            ],
        }
        assert rasa.parsed == 1

    def test_a_turn_that_fails_is_a_503_not_an_empty_answer(self) -> None:
        rasa = FakeRasa()

        async def fail(message: UserMessage) -> None:
            raise ConnectionError("the tracker store is down")

        agent = self.agent(rasa)
        rasa.handle_message = fail  # type: ignore[method-assign]
        body = {"sender": "webchat:w-1", "message": "你好"}
        assert self.answer(agent, body)[0] == 503
        assert self.answer(self.agent(rasa, ready=False), body)[0] == 503
        assert self.answer(None, body)[0] == 503


class TestServesDatabasePatches:
    """nlu/serve.py, for a tracker database that restarts or goes away."""

    def test_the_tracker_stores_pool_checks_a_connection_before_using_it(self) -> None:
        serve = importlib.import_module("serve")
        kwargs = serve.pinging(lambda url: {"pool_size": 50})("postgresql://db/rasa")
        assert kwargs == {"pool_size": 50, "pool_pre_ping": True}

    def test_a_tracker_that_cannot_be_read_or_saved_fails_the_turn(self) -> None:
        from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        class Down(InMemoryTrackerStore):
            async def retrieve(self, sender_id: str) -> Any:
                raise ConnectionError("the database is restarting")

            async def save(self, tracker: Any) -> None:
                raise ConnectionError("the database is restarting")

        class Strict(FailSafeTrackerStore):  # Rasa's own answers None, and saves in memory
            pass

        importlib.import_module("serve").strict(Strict)
        tracker = DialogueStateTracker.from_events("webchat:w-1", [])
        down = Down(Domain.empty())
        with pytest.raises(ConnectionError):
            asyncio.run(Strict(down).retrieve("webchat:w-1"))
        with pytest.raises(ConnectionError):
            asyncio.run(Strict(down).save(tracker))
