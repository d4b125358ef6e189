"""A promise the loan cannot take today is refused before any question, against the real backend:
the borrower is not asked the amount, the day and a confirmation only to hear that a promise is
still open."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.messages import say
from actions.promises import ActionStartPromise
from tests.actions.conftest import RunningBackend

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _backend_env(backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("SERVICE_TOKEN", backend.token)
    api._pools.clear()


def tracker(sender: str, text: str) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": "en", "amount": "500", "date": "friday"},
        latest_message={"text": text, "intent": {"name": "promise_to_pay"}, "metadata": {}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_a_second_promise_is_refused_before_it_is_asked_for(
    backend: RunningBackend,
) -> None:
    sender = "webchat:promise-open"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(backend.url, backend.token) as client:
        verified = await client.verify_link_token(channel, user_id, backend.link_token("DEMO-02"))
        assert verified.status == "verified"
        policy = await client.promise_policy(channel, user_id, "L-DEMO-02")
        held = await client.create_promise(
            channel, user_id, "L-DEMO-02", Decimal("300.00"), policy.latest_date
        )

    dispatcher = CollectingDispatcher()
    events: list[dict[str, Any]] = await ActionStartPromise().run(
        dispatcher, tracker(sender, "I can pay 500 on friday"), {}
    )
    (answer,) = dispatcher.messages
    assert answer["text"] == say(
        "en",
        "promise_refused.promise_already_open",
        amount=held.amount,
        currency=held.currency,
        promised_date=held.promised_date,
    )
    assert [b["payload"] for b in answer["buttons"]] == ["/make_payment"]
    assert {"event": "followup", "name": "promise_form", "timestamp": None} not in events
    assert events[-1]["name"] == "action_listen"
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["amount"] is None and slots["date"] is None  # not kept for a later promise
