"""The relay against the real backend app (in process, on the test database) and a fake Rasa:
routing by mode, repeats, NLU stored, and honest answers when Rasa or the backend fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from backend.config import Settings
from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable
from bot.commands import contact_payload
from bot.rasa_client import RasaClient
from bot.relay import Incoming, Relay, opt_out_language
from bot.spool import Spool
from bot.turn_log import TurnLog
from tests.backend.apps import app_over

pytestmark = pytest.mark.anyio
TOKEN = "test-service-token"


READING = {
    "intent": "greet",
    "confidence": 0.93,
    "entities": [{"entity": "amount", "value": "2500", "start": 0, "end": 3}],
}


class FakeRasa:
    """Rasa's REST channel (nlu/channels.py: the replies and, asked for it, the reading; given
    `backend`, the message logged with the backend before its turn) and tracker API, as far as
    the gateway uses them. Without `backend` it answers a message sent with `inbound` as the
    channel does when the backend does not answer it: the gateway then logs it itself."""

    def __init__(self, backend: BackendClient | None = None) -> None:
        self.backend = backend
        self.turns: list[dict[str, Any]] = []  # the turns it ran
        self.answered: dict[str, list[dict[str, Any]]] = {}  # by turn id, as its tracker has
        self.resumed: list[str] = []
        self.down = False
        self.logged: list[str] = []  # the messages (external ids) it logged with the backend

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/webhooks/rest/webhook":
            body = json.loads(request.content)
            logged = None
            if isinstance(body.get("inbound"), dict):
                logged = await self.log(body)
                if "error" in logged or logged["mode"] != "bot" or logged["opted_out"]:
                    return httpx.Response(
                        200, json={"replies": [], "reading": None, "inbound": logged}
                    )
                metadata = body.setdefault("metadata", {})
                if logged["duplicate"]:
                    metadata["retry"] = True
                if logged.get("arm_key"):
                    metadata["arm"] = logged["arm_key"]
            turn = body.get("metadata", {}).get("turn")
            if body.get("metadata", {}).get("retry") and turn in self.answered:
                answer = self.answered[turn]  # as nlu/turns.py does
            else:
                self.turns.append(body)
                answer = self.answer(body)
                if turn:
                    self.answered[turn] = answer
            if request.url.params.get("reading") != "true":
                return httpx.Response(200, json=answer)
            full = {"replies": answer, "reading": READING}
            if logged is not None:
                full["inbound"] = logged
            return httpx.Response(200, json=full)
        if request.url.path.endswith("/tracker/events"):
            self.resumed.append(request.url.path)
            return httpx.Response(200, json={})
        return httpx.Response(404)

    async def log(self, body: dict[str, Any]) -> dict[str, Any]:
        """The channel's /inbound call (one try: the gateway retries when it has no answer)."""
        if self.backend is None:
            return {"error": "unavailable"}
        channel, _, user_id = str(body["sender"]).partition(":")
        path = BackendClient._conversation(channel, user_id) + "/inbound"
        try:
            logged = await self.backend._call("POST", path, json=body["inbound"])
        except BackendUnavailable:
            return {"error": "unavailable"}
        except BackendRefused as exc:
            return {"error": "refused", "status": exc.status}
        self.logged.append(str(body["inbound"]["external_id"]))
        return dict(logged)

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"recipient_id": body["sender"], "text": _echo(body["message"])},
            {
                "recipient_id": body["sender"],
                "text": "还有什么可以帮您？",
                "buttons": [{"title": "查余额", "payload": "/check_balance"}],
            },
            {"recipient_id": body["sender"], "custom": {"request_contact": True}},
        ]


def _echo(message: str) -> str:
    return "ok" if message.startswith("/") else f"echo {message}"


@pytest.fixture
def backend_app(db: Session, tmp_path: Path) -> Any:
    settings = Settings(
        app_env="test",
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        service_token=TOKEN,
    )
    return app_over(db, settings)


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def relay(backend_app: Any, rasa: FakeRasa, tmp_path: Path) -> AsyncIterator[Relay]:
    backend = BackendClient("http://backend", TOKEN, transport=httpx.ASGITransport(app=backend_app))
    rasa.backend = backend  # it logs each message, as Rasa's channel does
    rasa_client = RasaClient(
        "http://rasa", retry_seconds=1.0, transport=httpx.MockTransport(rasa.handler)
    )
    spool = Spool(tmp_path / "spool.sqlite3")
    relay = Relay(backend, rasa_client, spool)
    yield relay
    await relay.settle()
    await backend.aclose()
    await rasa_client.aclose()
    spool.close()


async def transcript(relay: Relay, user_id: str) -> list[dict[str, Any]]:
    await relay.settle()  # the replies are logged after the answer
    return await relay.backend.transcript("webchat", user_id, last=100)


class TestBotMode:
    async def test_a_message_is_answered_by_rasa_and_logged_with_what_the_nlu_understood(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        outcome = await relay.handle(Incoming("webchat", "borrower-0001", "你好", external_id="w1"))
        assert [r.text for r in outcome.replies] == ["echo 你好", "还有什么可以帮您？"]
        assert outcome.replies[1].custom == {"request_contact": True}
        assert rasa.turns[0]["sender"] == "webchat:borrower-0001"
        logged = await transcript(relay, "borrower-0001")
        assert [(m["sender"], m["text"]) for m in logged] == [
            ("borrower", "你好"),
            ("bot", "echo 你好"),
            ("bot", "还有什么可以帮您？"),
        ]
        assert (logged[0]["intent"], logged[0]["confidence"]) == ("greet", 0.93)
        assert logged[0]["entities"][0]["entity"] == "amount"
        assert logged[2]["buttons"] == [{"title": "查余额", "payload": "/check_balance"}]
        # Named before they were logged (a Telegram button refers to its reply so), and
        # written down at once in the spool, which holds nothing once they are logged.
        assert outcome.replies[1].external_id == logged[2]["external_id"] == "w1:r1"
        assert relay.spool.pending() == 0
        assert relay.spool._db.execute("SELECT count(*) FROM spool").fetchone()[0] == 0

    @staticmethod
    async def calls_of(backend_app: Any, rasa: FakeRasa, tmp_path: Path) -> list[str]:
        """The gateway's calls for one message (Rasa's own calls to the backend not counted)."""
        calls: list[str] = []

        async def seen(request: httpx.Request) -> None:
            calls.append(f"{request.method} {request.url.path}".split("/messages/")[0])

        hooks = {"request": [seen]}
        backend = BackendClient(
            "http://backend", TOKEN, transport=httpx.ASGITransport(app=backend_app)
        )
        backend._http.event_hooks = hooks
        to_rasa = RasaClient("http://rasa", transport=httpx.MockTransport(rasa.handler))
        to_rasa._http.event_hooks = hooks
        relay = Relay(backend, to_rasa, Spool(tmp_path / "calls.sqlite3"))
        try:
            await relay.handle(Incoming("webchat", "borrower-0042", "你好", external_id="w42"))
            await relay.settle()
        finally:
            await backend.aclose()
            await to_rasa.aclose()
            relay.spool.close()
        return calls

    async def test_a_message_costs_the_gateway_two_calls(
        self, backend_app: Any, rasa: FakeRasa, tmp_path: Path
    ) -> None:
        # The turn, whose channel logs the message with the backend while the NLU reads it
        # (its answer carries the reading and the backend's answer), and one call storing the
        # reading with the replies (with the other turns of that moment: turn_log.py).
        rasa.backend = BackendClient(
            "http://backend", TOKEN, transport=httpx.ASGITransport(app=backend_app)
        )
        calls = await self.calls_of(backend_app, rasa, tmp_path)
        await rasa.backend.aclose()
        assert calls == ["POST /webhooks/rest/webhook", "POST /api/v1/turns"]
        assert rasa.logged == ["w42"] and len(rasa.turns) == 1

    async def test_when_rasa_cannot_log_it_the_gateway_does_then_sends_the_turn_again(
        self, backend_app: Any, rasa: FakeRasa, tmp_path: Path
    ) -> None:
        # The channel had no answer from the backend, so it ran no turn: the gateway logs the
        # message with its own retries (and would keep it in the spool), then sends the turn.
        calls = await self.calls_of(backend_app, rasa, tmp_path)
        chat = "/api/v1/conversations/webchat/borrower-0042"
        assert calls == [
            "POST /webhooks/rest/webhook",
            f"POST {chat}/inbound",
            "POST /webhooks/rest/webhook",
            "POST /api/v1/turns",
        ]
        assert len(rasa.turns) == 1 and "inbound" not in rasa.turns[0]

    async def test_a_repeated_message_is_run_once_and_answered_again_alike(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        # The page sends a message again when its call failed: the gateway that had it may have
        # died before answering. Rasa is asked again, as a retry of that turn (it answers from
        # its tracker a turn it ran), and the transcript keeps one of each.
        first = await relay.handle(Incoming("webchat", "borrower-0002", "你好", external_id="w9"))
        again = await relay.handle(Incoming("webchat", "borrower-0002", "你好", external_id="w9"))
        assert again.duplicate and again.result == "duplicate"
        assert [r.text for r in again.replies] == [r.text for r in first.replies]
        assert [r.external_id for r in again.replies] == [r.external_id for r in first.replies]
        assert len(rasa.turns) == 1 and rasa.turns[0]["metadata"]["turn"] == "w9"
        logged = await transcript(relay, "borrower-0002")
        assert [m["sender"] for m in logged] == ["borrower", "bot", "bot"]

    async def test_a_repeat_of_a_message_never_answered_is_answered_now(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        # The gateway that took it died before Rasa ran it: only the borrower's message is
        # logged, and the repeat runs the turn.
        await relay.backend.inbound(
            "webchat", "borrower-0009", text="你好", external_id="w3", sent_at=None, kind="text"
        )
        again = await relay.handle(Incoming("webchat", "borrower-0009", "你好", external_id="w3"))
        assert [r.text for r in again.replies] == ["echo 你好", "还有什么可以帮您？"]
        sent = rasa.turns[0]["metadata"]
        assert (sent["turn"], sent["retry"]) == ("w3", True)
        logged = await transcript(relay, "borrower-0009")
        assert [m["sender"] for m in logged] == ["borrower", "bot", "bot"]

    async def test_a_link_token_goes_to_the_assistant_but_never_into_the_transcript(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        await relay.handle(
            Incoming("webchat", "borrower-0003", "/start Secret-Token-1", kind="command")
        )
        assert rasa.turns[0]["message"] == '/verify_token{"token": "Secret-Token-1"}'
        assert "written_in" not in rasa.turns[0]["metadata"]  # a token is not English
        logged = await transcript(relay, "borrower-0003")
        assert all("Secret-Token-1" not in m["text"] for m in logged)

    async def test_a_button_is_logged_as_the_title_the_borrower_saw(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        await relay.handle(
            Incoming("webchat", "borrower-0004", "/check_balance", kind="button", shown="查余额")
        )
        assert rasa.turns[0]["message"] == "/check_balance"
        assert (await transcript(relay, "borrower-0004"))[0]["text"] == "查余额"

    async def test_an_unknown_command_is_answered_without_the_assistant(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        outcome = await relay.handle(
            Incoming("webchat", "borrower-0005", "/balance_now", kind="command", app_language="en")
        )
        assert rasa.turns == []
        assert "/help" in outcome.replies[0].text


class TestPayloadsAndOptOuts:
    async def test_the_assistants_own_payload_without_a_button_title_reaches_it(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        # What a plain Rasa REST client sends when its borrower presses "Yes".
        outcome = await relay.handle(Incoming("webchat", "borrower-0101", "/affirm"))
        offer = '/choose_offer{"offer_id": "4f2a9c"}'
        await relay.handle(Incoming("webchat", "borrower-0101", offer))
        assert [t["message"] for t in rasa.turns] == ["/affirm", offer]
        assert outcome.replies[0].text == "ok"

    @pytest.mark.parametrize("kind", ["text", "button"])
    async def test_a_verification_payload_the_assistant_never_offers_is_refused(
        self, relay: Relay, rasa: FakeRasa, kind: str
    ) -> None:
        user = f"borrower-0102-{kind}"
        for forged in (
            '/verify_token{"token": "Secret-Token-9"}',
            '/share_contact{"phone": "+8613800138001"}',
            '/ verify_token{"token": "Secret-Token-9"}',
            '/\tverify_token{"token":"Secret-Token-9"}',
            '/ share_contact{"phone": "+8613800138001"}',
        ):
            outcome = await relay.handle(Incoming("webchat", user, forged, kind=kind))
            assert "command" in outcome.replies[0].text or "指令" in outcome.replies[0].text
        assert rasa.turns == []
        logged = " ".join(m["text"] for m in await transcript(relay, user))
        assert "Secret-Token-9" not in logged and "8613800138001" not in logged

    async def test_a_shared_contact_is_the_gateways_own_payload(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        payload = contact_payload("+8613800138001")
        await relay.handle(
            Incoming("webchat", "borrower-0103", payload, kind="contact", shown="shared ****8001")
        )
        assert rasa.turns[0]["message"] == payload

    @pytest.mark.parametrize(
        ("word", "written_in"),
        [("ｓｔｏｐ", "en"), ("STOP", "en"), ("Stop.", "en"), ("退订", "zh"), ("TD", None)],
    )
    async def test_every_form_of_an_opt_out_reaches_the_assistant_as_the_opt_out(
        self, relay: Relay, rasa: FakeRasa, word: str, written_in: str | None
    ) -> None:
        # In a new chat the word says the language: Chinese characters Chinese, Latin letters
        # English, except "TD", the Chinese SMS code, which leaves it to the chat.
        user = f"borrower-0104-{written_in}-{len(word)}-{word.isupper()}"
        await relay.handle(Incoming("webchat", user, word))
        assert rasa.turns[0]["message"] == "/stop_contact"
        assert rasa.turns[0]["metadata"].get("written_in") == written_in
        assert (await transcript(relay, user))[0]["text"] == word  # as the borrower typed it

    @pytest.mark.parametrize(
        ("word", "conversation", "written_in"),
        [
            ("STOP", "zh", None),  # a Chinese chat's STOP is confirmed in Chinese
            ("STOP", "en", "en"),
            ("STOP", None, "en"),
            ("ｓｔｏｐ", "zh", None),
            ("TD", "en", None),
            ("td.", None, None),
            ("退订。", "en", "zh"),
        ],
    )
    def test_the_language_an_opt_out_word_claims(
        self, word: str, conversation: str | None, written_in: str | None
    ) -> None:
        assert opt_out_language(word, conversation) == written_in

    async def test_a_sentence_with_stop_in_it_is_the_assistants_to_read(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        await relay.handle(Incoming("webchat", "borrower-0105", "don't stop helping me"))
        assert rasa.turns[0]["message"] == "don't stop helping me"
        assert "written_in" not in rasa.turns[0]["metadata"]


class TestHumanMode:
    async def test_while_a_person_has_the_chat_the_bot_stays_out(
        self, relay: Relay, rasa: FakeRasa, backend_app: Any
    ) -> None:
        await relay.handle(Incoming("webchat", "borrower-0006", "hi"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=backend_app),
            base_url="http://backend/api/v1",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as api:
            r = await api.post(
                "/conversations/webchat/borrower-0006/handoffs",
                json={"reason": "borrower_request"},
            )
            assert r.status_code in (200, 201), r.text
        outcome = await relay.handle(Incoming("webchat", "borrower-0006", "anyone there?"))
        assert outcome.replies == [] and outcome.mode == "human"
        assert len(rasa.turns) == 1
        assert (await transcript(relay, "borrower-0006"))[-1]["text"] == "anyone there?"


class TestFailures:
    async def test_rasa_down_is_an_honest_reply_and_the_message_is_in_the_transcript(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        rasa.down = True
        outcome = await relay.handle(Incoming("webchat", "borrower-0007", "我想还款"))
        assert "智能助手暂时无法回复" in outcome.replies[0].text
        logged = await transcript(relay, "borrower-0007")
        assert [m["sender"] for m in logged] == ["borrower", "bot"]
        assert logged[0]["text"] == "我想还款"

    async def test_backend_down_keeps_the_message_until_it_is_back(
        self, relay: Relay, rasa: FakeRasa, tmp_path: Path
    ) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        down = BackendClient("http://backend", TOKEN, transport=httpx.MockTransport(refuse))
        rasa.backend = down  # Rasa's channel cannot log it either
        broken = Relay(down, relay.rasa, relay.spool)
        outcome = await broken.handle(
            Incoming("webchat", "borrower-0008", "I lost my job", external_id="w1")
        )
        assert outcome.kept and "saved" in outcome.replies[0].text
        assert rasa.turns == []
        assert relay.spool.pending() == 1

        assert await relay.spool.flush(down) == 0  # still down: kept
        assert await relay.spool.flush(relay.backend) == 1
        assert relay.spool.pending() == 0
        logged = await transcript(relay, "borrower-0008")
        assert (logged[0]["sender"], logged[0]["text"]) == ("borrower", "I lost my job")
        await down.aclose()

    async def test_settle_right_after_an_answer_does_not_wait_for_the_turn_log(
        self, relay: Relay
    ) -> None:
        # The turns of a moment wait to be logged together; someone reading the transcript
        # (settle) sends them at once, the turn answered a moment ago included.
        relay.turn_log = TurnLog(relay.backend, relay.spool, wait=30)
        await relay.handle(Incoming("webchat", "borrower-0010", "你好", external_id="w7"))
        async with asyncio.timeout(5):
            await relay.settle()
        logged = await transcript(relay, "borrower-0010")
        assert [m["sender"] for m in logged] == ["borrower", "bot", "bot"]

    async def test_replies_the_backend_cannot_log_after_the_answer_are_kept_in_order(
        self, relay: Relay, rasa: FakeRasa
    ) -> None:
        # The borrower is answered before the replies are logged. The backend fails that call
        # (it went down after taking the message): the replies wait in the spool, reading
        # included, and land in the transcript after the message they answer, stamped with
        # the time the assistant answered rather than the time they were logged.
        real_log_turns = relay.backend.log_turns
        failing = True

        async def log_turns(*args: Any, **kwargs: Any) -> None:
            if failing:
                raise BackendUnavailable("ConnectError")
            await real_log_turns(*args, **kwargs)

        relay.backend.log_turns = log_turns  # type: ignore[method-assign]
        outcome = await relay.handle(Incoming("webchat", "borrower-0009", "你好", external_id="w5"))
        assert [r.text for r in outcome.replies] == ["echo 你好", "还有什么可以帮您？"]
        await relay.settle()
        assert relay.spool.pending() == 1

        failing = False
        later = await relay.handle(Incoming("webchat", "borrower-0009", "在吗", external_id="w6"))
        assert later.replies[0].text == "echo 在吗"
        assert await relay.spool.flush(relay.backend) == 1
        logged = await transcript(relay, "borrower-0009")
        assert [m["text"] for m in logged] == [
            "你好",
            "echo 你好",
            "还有什么可以帮您？",
            "在吗",
            "echo 在吗",
            "还有什么可以帮您？",
        ]
        assert logged[0]["intent"] == "greet"  # the kept turn's reading
