"""Rasa's fixed replies follow the texts version running in the backend (nlu/texts_nlg.py),
against a stand-in for `GET /api/v1/texts/running` on a local port: the domain's texts until it
answers and while it is down, the overrides (text and button titles, per language) once it has,
and the domain's texts again when it runs version 0. Rasa makes the generator from the shipped
endpoints files with its own factory, and the domain's responses are never changed."""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from tests import ports

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/ (endpoints.yml: texts_nlg.RunningTexts)
texts_nlg = importlib.import_module("texts_nlg")
RunningTexts = texts_nlg.RunningTexts

TOKEN = "a-test-token"
SHIPPED_GOODBYE = {
    "zh": "再见，祝您生活顺利。有需要随时找我。",
    "en": "Goodbye, and take care. Message me any time.",
}
VERSION_3 = {
    "version": 3,
    "texts": {
        "utter_goodbye": {"zh": "再会！", "en": "Bye for now!"},
        "balance": {"zh": "您的欠款", "en": "What you owe"},  # the action server's
    },
    "buttons": {"/check_balance": {"zh": "我的欠款", "en": "My balance"}},
}
SHIPPED = {"version": 0, "texts": {}, "buttons": {}}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(NLU / "domain"))


class Backend:
    """The backend's running texts: answers `body`, 304 to its own ETag, 401 without TOKEN."""

    def __init__(self) -> None:
        self.port = ports.free_port("rasa")
        self.url = f"http://127.0.0.1:{self.port}/api/v1/texts/running"
        self.body: dict[str, Any] = SHIPPED
        self.delay = 0.0
        self.asked: list[dict[str, str]] = []  # the headers of every request
        self._runner: web.AppRunner | None = None

    def etag(self) -> str:
        return f'"texts-{self.body["version"]}"'

    async def running(self, request: web.Request) -> web.Response:
        self.asked.append(dict(request.headers))
        await asyncio.sleep(self.delay)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "no"}, status=401)
        if request.headers.get("If-None-Match") == self.etag():
            return web.Response(status=304)
        return web.json_response(self.body, headers={"ETag": self.etag()})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/texts/running", self.running)
        # a reply given up on is not waited for when the test stops the server
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def running_texts(url: str, domain: Domain, every: float = 0) -> Any:
    endpoint = EndpointConfig(url, headers={"Authorization": f"Bearer {TOKEN}"})
    return RunningTexts(endpoint, domain, every=every)


async def said(nlg: Any, action: str, domain: Domain, language: str | None) -> dict[str, Any]:
    events = [SlotSet("language", language)] if language else []
    tracker = DialogueStateTracker.from_events("chat-1", events, slots=domain.slots)
    reply = await nlg.generate(action, tracker, "rest")
    assert reply is not None
    return dict(reply)


def titles(reply: dict[str, Any]) -> dict[str, str]:
    return {button["payload"]: button["title"] for button in reply["buttons"]}


def with_backend(scenario: Callable[[Backend], Awaitable[None]]) -> None:
    async def run() -> None:
        backend = Backend()
        await backend.start()
        try:
            await scenario(backend)
        finally:
            await backend.stop()

    asyncio.run(run())


def test_the_domains_texts_while_the_backend_cannot_be_reached(domain: Domain) -> None:
    nobody = f"http://127.0.0.1:{ports.free_port('rasa')}/api/v1/texts/running"
    nlg = running_texts(nobody, domain)

    async def scenario() -> None:
        for language in ("zh", "en"):
            reply = await said(nlg, "utter_goodbye", domain, language)
            assert reply["text"] == SHIPPED_GOODBYE[language]
        out_of_scope = await said(nlg, "utter_out_of_scope", domain, "en")
        assert titles(out_of_scope)["/check_balance"] == "What do I owe?"

    asyncio.run(scenario())
    assert nlg.version is None


def test_the_running_version_is_said_in_each_language(domain: Domain) -> None:
    async def scenario(backend: Backend) -> None:
        backend.body = VERSION_3
        nlg = running_texts(backend.url, domain)
        assert (await said(nlg, "utter_goodbye", domain, None))["text"] == "再会！"
        assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == "Bye for now!"
        assert nlg.version == 3
        zh = await said(nlg, "utter_out_of_scope", domain, None)
        en = await said(nlg, "utter_out_of_scope", domain, "en")
        assert titles(zh) == {
            "/check_balance": "我的欠款",
            "/request_installment": "协商还款",
            "/request_human": "转人工",
        }
        assert titles(en) == {
            "/check_balance": "My balance",
            "/request_installment": "Payment plans",
            "/request_human": "Talk to a person",
        }
        # what was not overridden is the domain's, conditions and all
        assert zh["text"].startswith("抱歉，我只能处理") and en["text"].startswith("Sorry, I can")
        thank = await said(nlg, "utter_thank", domain, "en")
        assert thank["text"] == "You're welcome. Anything else I can help with?"
        assert nlg.responses["utter_goodbye"][0]["condition"] == [
            {"type": "slot", "name": "language", "value": "en"}
        ]
        # and the domain itself is left as shipped, the fallback
        assert domain.responses["utter_goodbye"][1]["text"] == SHIPPED_GOODBYE["zh"]
        assert domain.responses["utter_out_of_scope"][1]["buttons"][0]["title"] == "查询欠款"

    with_backend(scenario)


def test_version_0_brings_back_the_domains_texts(domain: Domain) -> None:
    async def scenario(backend: Backend) -> None:
        backend.body = VERSION_3
        nlg = running_texts(backend.url, domain)
        assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == "Bye for now!"
        backend.body = SHIPPED
        assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == SHIPPED_GOODBYE["en"]
        zh = await said(nlg, "utter_out_of_scope", domain, None)
        assert titles(zh)["/check_balance"] == "查询欠款"
        assert nlg.version == 0

    with_backend(scenario)


def test_not_modified_keeps_the_version_in_use(domain: Domain) -> None:
    async def scenario(backend: Backend) -> None:
        backend.body = VERSION_3
        nlg = running_texts(backend.url, domain)
        await nlg.refresh()
        assert "If-None-Match" not in backend.asked[0]
        for _ in range(2):
            assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == "Bye for now!"
        assert [asked.get("If-None-Match") for asked in backend.asked[1:]] == ['"texts-3"'] * 2
        assert backend.asked[0]["Authorization"] == f"Bearer {TOKEN}"

    with_backend(scenario)


def test_a_backend_gone_down_leaves_its_version_in_use(
    domain: Domain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=texts_nlg.__name__)

    async def scenario(backend: Backend) -> None:
        backend.body = VERSION_3
        nlg = running_texts(backend.url, domain)
        await nlg.refresh()
        await backend.stop()
        assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == "Bye for now!"
        for _ in range(3):
            await nlg.refresh()
        zh = await said(nlg, "utter_out_of_scope", domain, None)
        assert (zh["text"][:4], titles(zh)["/check_balance"]) == ("抱歉，我", "我的欠款")
        assert nlg.version == 3
        await backend.start()
        await nlg.refresh()

    with_backend(scenario)
    lines = [r.getMessage() for r in caplog.records]
    assert [line for line in lines if "in use" in line] == ["texts version 3 in use"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, lines  # once for the outage, not once per attempt
    assert "cannot be reached" in warnings[0].getMessage()
    assert lines[-1] == "texts: the backend answers again"


@pytest.mark.parametrize(
    "answer",
    [
        lambda: web.Response(status=500),
        lambda: web.Response(text="<html>busy</html>", content_type="text/html"),
        lambda: web.json_response({"version": "3", "texts": {}, "buttons": {}}),
        lambda: web.json_response({"texts": {}}),
    ],
    ids=["500", "not-json", "bad-version", "no-version"],
)
def test_an_unusable_answer_changes_nothing(
    domain: Domain, answer: Callable[[], web.Response]
) -> None:
    async def scenario(backend: Backend) -> None:
        backend.body = VERSION_3
        nlg = running_texts(backend.url, domain)
        await nlg.refresh()

        async def broken(request: web.Request) -> web.Response:
            return answer()

        backend.running = broken  # type: ignore[method-assign]
        await backend.stop()
        await backend.start()
        await nlg.refresh()
        assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == "Bye for now!"
        assert nlg.version == 3

    with_backend(scenario)


def test_a_slow_backend_holds_a_reply_back_a_second_at_most(domain: Domain) -> None:
    async def scenario(backend: Backend) -> None:
        backend.body, backend.delay = VERSION_3, 5
        nlg = running_texts(backend.url, domain)
        started = time.monotonic()
        reply = await said(nlg, "utter_goodbye", domain, "en")
        assert time.monotonic() - started < 1.5
        assert reply["text"] == SHIPPED_GOODBYE["en"]

    with_backend(scenario)


def test_the_backend_is_asked_again_only_once_the_version_is_old(domain: Domain) -> None:
    async def scenario(backend: Backend) -> None:
        nlg = running_texts(backend.url, domain, every=60)
        for _ in range(3):
            await said(nlg, "utter_thank", domain, None)
        assert len(backend.asked) == 1

    with_backend(scenario)


def test_the_refresh_interval_comes_from_the_environment(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTS_REFRESH_SECONDS", "0.5")
    assert running_texts("http://127.0.0.1:1/", domain, every=None).every == 0.5
    monkeypatch.delenv("TEXTS_REFRESH_SECONDS")
    assert running_texts("http://127.0.0.1:1/", domain, every=None).every == 3


def test_a_new_model_keeps_the_running_version(domain: Domain) -> None:
    """Rasa makes the generator with an empty domain while the model server has not answered,
    then sets the loaded model's responses on it (Agent.load_model)."""

    async def scenario(backend: Backend) -> None:
        backend.body = VERSION_3
        nlg = running_texts(backend.url, Domain.empty())
        await nlg.refresh()
        nlg.responses = domain.responses
        assert (await said(nlg, "utter_goodbye", domain, None))["text"] == "再会！"

    with_backend(scenario)


@pytest.mark.parametrize("name", ["endpoints.yml", "deploy-endpoints.yml"])
def test_rasa_makes_it_from_the_shipped_endpoints(
    name: str, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = NLU / name
    for variable in set(re.findall(r"\$\{(\w+)\}", path.read_text())):
        monkeypatch.setenv(variable, f"test-{variable.lower()}")
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("SERVICE_TOKEN", TOKEN)
    endpoints = AvailableEndpoints.read_endpoints(str(path))
    nlg = NaturalLanguageGenerator.create(endpoints.nlg, domain)
    assert type(nlg) is RunningTexts
    assert nlg.url == "http://127.0.0.1:9000/api/v1/texts/running"
    assert nlg.headers["Authorization"] == f"Bearer {TOKEN}"
    assert nlg.responses["utter_goodbye"] == domain.responses["utter_goodbye"]


def test_a_response_name_the_domain_does_not_have_is_no_reply_and_no_error(
    domain: Domain,
) -> None:
    """An override for a response this release has dropped is ignored; a response nobody
    has is not invented (Rasa says nothing, as with its own generator)."""

    async def scenario(backend: Backend) -> None:
        backend.body = {
            "version": 4,
            "texts": {"utter_dropped": {"zh": "旧的", "en": "old"}, "balance": {"zh": "x"}},
            "buttons": {},
        }
        nlg = running_texts(backend.url, domain)
        assert (await said(nlg, "utter_goodbye", domain, "en"))["text"] == SHIPPED_GOODBYE["en"]
        assert nlg.version == 4
        assert "utter_dropped" not in nlg.responses
        tracker = DialogueStateTracker.from_events("chat-1", [], slots=domain.slots)
        assert await nlg.generate("utter_dropped", tracker, "rest") is None

    with_backend(scenario)
