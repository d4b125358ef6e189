"""A turn whose action could not be run is not saved, and the gateway hears of it (nlu/serve.py,
nlu/turns.py, nlu/channels.py): Rasa's own RemoteAction, against a stand-in action server,
raises ActionFailed in a turn the channel runs, which passes Rasa's processor's `except
Exception`; the channel answers 503 (failed on the way: sent again) or 500 (the action server's
own error: the borrower is told). Elsewhere RemoteAction is Rasa's as it was."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/
serve = importlib.import_module("serve")
turns = importlib.import_module("turns")
channels = importlib.import_module("channels")

SENDER = "webchat:w-1"
# What the stand-in action server answers, by action name.
STATUS = {"action_ok": 200, "action_crash": 500, "action_busy": 502, "action_reject": 400}


@pytest_asyncio.fixture
async def action_server() -> AsyncIterator[str]:
    async def webhook(request: web.Request) -> web.Response:
        name = (await request.json())["next_action"]
        status = STATUS[name]
        if status == 200:
            return web.json_response({"events": [], "responses": [{"text": f"{name} ran"}]})
        if status == 400:  # rasa_sdk's answer when a form rejects the message
            return web.json_response({"action_name": name, "error": "not this slot"}, status=400)
        return web.json_response({"error": "failed"}, status=status)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/webhook"
    await runner.cleanup()


@pytest.fixture
def remote() -> type[Any]:
    class Remote(RemoteAction):  # patched alone: RemoteAction itself stays Rasa's
        pass

    serve.failing_the_turn(Remote)
    return Remote


async def run_action(remote: type[Any], name: str, url: str) -> list[Any]:
    action = remote(name, EndpointConfig(url))
    tracker = DialogueStateTracker.from_events(SENDER, [])
    nlg = TemplatedNaturalLanguageGenerator({})
    return await action.run(CollectingOutputChannel(), nlg, tracker, Domain.empty())


async def in_a_turn(remote: type[Any], name: str, url: str) -> list[Any]:
    """The action run as a turn the channel runs: under turns.run_once."""
    ran: list[Any] = []

    async def process(message: UserMessage) -> None:
        ran.extend(await run_action(remote, name, url))

    message = UserMessage("你好", CollectingOutputChannel(), SENDER)
    await turns.run_once(InMemoryLockStore(), _no_tracker, message, process)
    return ran


async def _no_tracker(_: str) -> None:
    return None


class TestInATurn:
    @pytest.mark.asyncio
    async def test_an_action_that_runs_is_rasas(
        self, remote: type[Any], action_server: str
    ) -> None:
        [said] = await in_a_turn(remote, "action_ok", action_server)
        assert isinstance(said, BotUttered) and said.text == "action_ok ran"

    @pytest.mark.asyncio
    async def test_no_action_server_is_a_failure_on_the_way(self, remote: type[Any]) -> None:
        with pytest.raises(turns.ActionFailed) as failed:
            await in_a_turn(remote, "action_ok", "http://127.0.0.1:9/webhook")
        assert failed.value.again and failed.value.action == "action_ok"

    @pytest.mark.asyncio
    @pytest.mark.parametrize(
        ("action", "again"),
        [("action_busy", True), ("action_crash", False)],  # nginx's 502; the server's own 500
        ids=["nginxs-502-on-the-way", "the-servers-own-500-not-worth-again"],
    )
    async def test_an_error_status(
        self, remote: type[Any], action_server: str, action: str, again: bool
    ) -> None:
        with pytest.raises(turns.ActionFailed) as failed:
            await in_a_turn(remote, action, action_server)
        assert failed.value.again is again

    @pytest.mark.asyncio
    async def test_a_forms_rejection_is_dialogue_not_a_failure(
        self, remote: type[Any], action_server: str
    ) -> None:
        with pytest.raises(ActionExecutionRejection):
            await in_a_turn(remote, "action_reject", action_server)

    @pytest.mark.asyncio
    async def test_it_passes_the_processors_catch_all(self, remote: type[Any]) -> None:
        """Rasa's processor runs an action in `try: ... except Exception:` and goes on."""

        async def as_the_processor_runs_it(_: UserMessage) -> None:
            try:
                await run_action(remote, "action_ok", "http://127.0.0.1:9/webhook")
            except Exception:  # what Rasa's _run_action does with an action's error
                pytest.fail("the failure was caught as Rasa would catch it")

        message = UserMessage("你好", CollectingOutputChannel(), SENDER)
        with pytest.raises(turns.ActionFailed):
            await turns.run_once(
                InMemoryLockStore(), _no_tracker, message, as_the_processor_runs_it
            )


@pytest.mark.asyncio
async def test_outside_a_turn_a_failure_is_rasas_own(remote: type[Any], action_server: str) -> None:
    """Rasa's HTTP API (a collector's handback, an intent triggered) runs actions as Rasa does."""
    with pytest.raises(RasaException):
        await run_action(remote, "action_ok", "http://127.0.0.1:9/webhook")
    with pytest.raises(RasaException):
        await run_action(remote, "action_crash", action_server)


class FailingOnce:
    """Rasa's processor as far as a turn goes, with its first run's action failing (`again`):
    it answers and saves the turn in the tracker only when it runs to the end."""

    def __init__(self, again: bool) -> None:
        self.again = again
        self.tracker = DialogueStateTracker.from_events(SENDER, [])
        self.runs = 0

    async def parse_message(self, message: UserMessage) -> dict[str, Any]:
        return {"text": message.text, "intent": {"name": "check_balance", "confidence": 0.9},
                "entities": []}  # fmt: skip

    async def handle_message(self, message: UserMessage) -> None:
        self.runs += 1
        await message.output_channel.send_response(SENDER, {"text": "让我查一下"})
        if self.runs == 1:
            raise turns.ActionFailed("action_check_balance", again=self.again)
        answer = BotUttered("您还欠 6,869.17 元")
        await message.output_channel.send_response(SENDER, answer.message())
        said = UserUttered(message.text, metadata=message.metadata)
        for event in (said, answer):
            self.tracker.update(event)

    async def tracker_of(self, _: str) -> DialogueStateTracker:
        return self.tracker


def answer(rasa: FailingOnce, metadata: dict[str, Any]) -> tuple[int, Any]:
    agent = SimpleNamespace(
        is_ready=lambda: True,
        lock_store=InMemoryLockStore(),
        tracker_store=SimpleNamespace(retrieve=rasa.tracker_of),
        processor=rasa,
    )
    gateway = channels.GatewayInput("gateway-secret", "http://backend", "svc")
    body = {"sender": SENDER, "message": "我还欠多少", "metadata": metadata}
    return asyncio.run(gateway.answer(agent, body, with_reading=True))


class TestTheChannelsAnswer:
    def test_failed_on_the_way_it_is_a_503_and_the_try_again_runs_the_turn(self) -> None:
        rasa = FailingOnce(again=True)
        status, body = answer(rasa, {"turn": "w1"})
        assert status == 503 and "replies" not in json.dumps(body)
        assert list(rasa.tracker.events) == []  # nothing saved: a try again must run it
        status, body = answer(rasa, {"turn": "w1", "retry": True})
        assert status == 200
        # The answer of the turn that ran, without what the failed one had said.
        assert [r["text"] for r in body["replies"]] == ["让我查一下", "您还欠 6,869.17 元"]

    def test_the_action_servers_own_error_is_a_500(self) -> None:
        rasa = FailingOnce(again=False)
        status, _ = answer(rasa, {"turn": "w1"})
        assert status == 500
        assert list(rasa.tracker.events) == []
