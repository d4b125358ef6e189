"""How actions answer the backend's refusals, against the real backend (a process, demo data
as of 2026-11-29): a refusal that is not the borrower's doing is not blamed on what they
typed, and a chat that must verify is asked to, nothing else."""

from __future__ import annotations

from functools import partial
from itertools import count
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.language import reply_language
from actions.messages import say
from actions.payments import ActionPaymentLink
from actions.verification import STOPPED, ValidateVerificationForm
from tests.actions.conftest import RunningBackend

pytestmark = pytest.mark.asyncio
_chats = count(1)


def tracker(slots: dict[str, Any], text: str = "", **metadata: Any) -> Tracker:
    return Tracker(
        sender_id=f"telegram:refusals-{next(_chats)}",
        slots={"language": "en", **slots},
        latest_message={"text": text, "intent": {"name": "inform"}, "metadata": metadata},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "verification_form"},
        latest_action_name=None,
    )


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or "" for m in dispatcher.messages]


class TestSecondFactor:
    async def second_factor(self, phone: str, value: str) -> tuple[dict[str, Any], list[str]]:
        dispatcher = CollectingDispatcher()
        slots = await ValidateVerificationForm().validate_second_factor(
            value, dispatcher, tracker({"phone": phone, "requested_slot": "second_factor"}), {}
        )
        return slots, texts(dispatcher)

    async def test_a_wrong_factor_is_an_attempt(self, served: RunningBackend) -> None:
        slots, said = await self.second_factor("+6591234567", "9999")
        assert slots == {"phone": None, "second_factor": None}
        assert "attempt" in said[0]

    async def test_an_unreadable_factor_is_asked_again(self, served: RunningBackend) -> None:
        slots, said = await self.second_factor("+6591234567", "12")
        assert slots == {"second_factor": None}
        assert said == [say("en", "verify_failed_unread")]

    async def test_an_unreadable_phone_is_asked_again_not_the_factor(
        self, served: RunningBackend
    ) -> None:
        # More digits than the backend reads as a phone number (422 about `phone`).
        slots, said = await self.second_factor("+" + "1" * 45, "345D")
        assert slots == {"phone": None, "second_factor": None}
        assert said == [say("en", "bad_phone")]

    async def test_a_refusal_that_is_not_the_borrowers_doing_is_not_blamed_on_them(
        self, served: RunningBackend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SERVICE_TOKEN", "not-the-token")  # 401: misconfigured
        slots, said = await self.second_factor("+6591234567", "345D")
        assert said == [say("en", "refused")]
        assert slots == {"phone": STOPPED, "second_factor": STOPPED}  # no loop


class UnbindsBeforeTheLink(httpx.AsyncBaseTransport):
    """Delivers requests to the backend, but the chat is unbound (someone said it is not
    theirs) just before the payment link is asked for: the backend then wants verification."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/payment-links"):
            chat = request.url.path.split("/loans/")[0]
            unbind = httpx.Request(
                "POST",
                request.url.copy_with(path=f"{chat}/wrong-person"),
                headers={"Authorization": request.headers["Authorization"]},
                json={"note": ""},
            )
            answer = await self.inner.handle_async_request(unbind)
            await answer.aread()
            assert answer.status_code == 200, answer.text
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class TestPaymentLink:
    async def test_a_chat_that_must_verify_is_asked_to_and_told_nothing_about_the_amount(
        self, served: RunningBackend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        t = tracker({"amount": "300", "requested_slot": None}, text="I want to pay 300")
        channel, user_id = api.conversation_of(t.sender_id)
        async with api.Backend(served.url, served.token) as client:
            verified = await client.verify_link_token(
                channel, user_id, served.link_token("DEMO-03")
            )
            assert verified.status == "verified"
        monkeypatch.setattr(api, "Backend", partial(api.Backend, transport=UnbindsBeforeTheLink()))
        dispatcher = CollectingDispatcher()
        events = await ActionPaymentLink().run(dispatcher, t, {})
        assert texts(dispatcher) == [say("en", "verify_intro")]
        assert {"event": "followup", "name": "verification_form"} in [
            {k: e.get(k) for k in ("event", "name")} for e in events
        ]


class TestOptOutLanguage:
    """An opt-out reaches the assistant as /stop_contact; the gateway says which language
    the word was in only for Chinese characters ("TD" is the Chinese SMS code)."""

    @pytest.mark.parametrize(("chat", "metadata", "lang"), [
        ("zh", {}, "zh"),  # "TD" from a Chinese chat
        ("en", {}, "en"),  # "STOP" from an English chat
        ("en", {"written_in": "zh"}, "zh"),  # "退订"
        (None, {"language": "en"}, "en"),  # a new chat: the app's language
    ])  # fmt: skip
    async def test_the_chat_decides_unless_the_word_was_chinese(
        self, chat: str | None, metadata: dict[str, str], lang: str
    ) -> None:
        t = tracker({"language": chat}, "/stop_contact", **metadata)
        assert reply_language(t) == lang
