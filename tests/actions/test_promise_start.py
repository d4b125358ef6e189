"""How a promise starts, against the real backend: one the loan cannot take today is refused
before any question (not after the amount, the day and a confirmation, only to hear that a
promise is still open), and what the first message said is taken whole even where the NLU split
it."""

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


async def test_a_day_and_an_amount_the_nlu_split_are_both_kept(backend: RunningBackend) -> None:
    """ "我下个月5号还3千5": the NLU reads two dates ("下个月5号", and the "3千" of 3千5) and the
    amount "5"; Rasa's slot keeps the last date. The day named and the whole amount start the
    form."""
    sender = "webchat:promise-split"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(backend.url, backend.token) as client:
        verified = await client.verify_link_token(channel, user_id, backend.link_token("DEMO-03"))
        assert verified.status == "verified"
    text = "我下周五还3千5"
    t = tracker(sender, text)
    t.slots.update(amount="5", date="3千", language="zh")
    t.latest_message["entities"] = [
        {"entity": "date", "value": "下周五"},
        {"entity": "date", "value": "3千"},
        {"entity": "amount", "value": "5"},
    ]
    events = await ActionStartPromise().run(CollectingDispatcher(), t, {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert (slots["promise_amount"], slots["promise_date"]) == ("3千5", "下周五")
    # Two days and no amount split: the slot's, as before.
    t = tracker(sender, "下周五或者下周一还500")
    t.slots.update(date="下周一")
    t.latest_message["entities"] = [
        {"entity": "date", "value": "下周五"},
        {"entity": "date", "value": "下周一"},
    ]
    events = await ActionStartPromise().run(CollectingDispatcher(), t, {})
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["promise_date"] == "下周一"


async def test_the_form_keeps_the_day_when_it_takes_a_part_of_the_amount_for_one(
    backend: RunningBackend,
) -> None:
    """The form opening on "我10号还3千5" takes the last date entity ("3" of 3千5) for the day:
    that is no day, and the one action_start_promise read ("10号") stands."""
    from actions.promises import ValidatePromiseForm

    sender = "webchat:promise-form-split"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(backend.url, backend.token) as client:
        verified = await client.verify_link_token(channel, user_id, backend.link_token("DEMO-05"))
        assert verified.status == "verified"
    text = "我10号还3千5"
    entities = [
        {"entity": "date", "value": "10号"},
        {"entity": "date", "value": "3"},
        {"entity": "amount", "value": "千"},
        {"entity": "amount", "value": "5"},
    ]
    said = tracker(sender, text)
    said.slots.update(amount="5", date="3")  # Rasa's slots: the last entity of each
    said.latest_message["entities"] = entities
    started = await ActionStartPromise().run(CollectingDispatcher(), said, {})
    slots = {e["name"]: e["value"] for e in started if e.get("event") == "slot"}
    assert (slots["promise_amount"], slots["promise_date"]) == ("3千5", "10号")
    t = tracker(sender, text)
    t.slots.update(slots)
    t.latest_message["entities"] = entities
    t.events = [
        {"event": "user", "text": text},
        *started,
        {"event": "slot", "name": "promise_date", "value": "3"},
    ]
    t.slots["promise_date"] = "10号"
    answer = await ValidatePromiseForm().validate_promise_date("3", CollectingDispatcher(), t, {})
    assert answer["promise_date"] is not None and answer["promise_date"].endswith("-10")
