"""What a borrower says inside a form that is not its answer, against the real backend (demo data
as of 2026-11-29, a Sunday): a partial value is kept and only what is missing is asked, one
message per turn; a question about the form's subject is answered with the loan's figures; a
cancel ends the form and keeps nothing; offer buttons say what differs."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.cases import (
    ActionAskNewContact,
    ActionRecordCase,
    ActionSubmitContact,
    ValidateContactForm,
)
from actions.dialogue import ActionFallback
from actions.forms import ActionExplainFormStep, ActionLeaveForm
from actions.messages import say
from actions.plans import ActionAcceptOffer, ActionShowOffers
from actions.promises import (
    ActionAskPromiseAmount,
    ActionAskPromiseConfirmed,
    ActionAskPromiseDate,
    ActionStartPromise,
    ValidatePromiseForm,
)
from tests.actions.conftest import RunningBackend

pytestmark = pytest.mark.asyncio
_chats = count(1)


@pytest.fixture(autouse=True)
def _backend_env(backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("SERVICE_TOKEN", backend.token)
    api._pools.clear()


def tracker(
    sender: str,
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "promise_to_pay",
    form: str | None = None,
) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": "en", **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent}, "metadata": {}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": form} if form else {},
        latest_action_name="action_listen",
    )


def set_slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def verified_chat(backend: RunningBackend, borrower: str, lang: str = "en") -> str:
    sender = f"webchat:forms-{next(_chats)}"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(backend.url, backend.token) as client:
        verified = await client.verify_link_token(channel, user_id, backend.link_token(borrower))
    assert verified.status == "verified"
    return sender


async def started(sender: str, text: str, lang: str = "en") -> dict[str, Any]:
    events = await ActionStartPromise().run(
        CollectingDispatcher(), tracker(sender, {"language": lang}, text), {}
    )
    return {"language": lang, **set_slots(events)}


async def asked(action: Any, sender: str, slots: dict[str, Any]) -> list[str]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker(sender, slots, form="promise_form"), {})
    slots |= set_slots(events)
    return [m["text"] for m in dispatcher.messages]


async def test_some_next_week_asks_the_amount_then_which_day_next_week(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-06")
    slots = await started(sender, "can I pay some next week")
    assert slots["promise_amount"] is None and slots["promise_date"] is None
    assert slots["promise_date_span"].startswith("week:1:")

    form = ValidatePromiseForm()
    dispatcher = CollectingDispatcher()
    t = tracker(sender, slots, form="promise_form")
    slots |= await form.validate_promise_amount("some", dispatcher, t, {})
    assert slots["promise_amount"] is None and not slots.get("form_note")
    assert dispatcher.messages == []  # no amount yet is not an error
    (question,) = await asked(ActionAskPromiseAmount(), sender, slots)
    assert question.startswith("How much will you pay?")

    slots |= await form.validate_promise_amount("2000", dispatcher, tracker(sender, slots), {})
    (question,) = await asked(ActionAskPromiseDate(), sender, slots)
    assert question.startswith("Which day next week?") and "2026-11-30" in question

    slots |= await form.validate_promise_date("friday", dispatcher, tracker(sender, slots), {})
    assert slots["promise_date"] == "2026-12-04" and slots["promise_date_span"] is None
    assert dispatcher.messages == []


async def test_some_next_week_in_chinese_keeps_the_week(backend: RunningBackend) -> None:
    sender = await verified_chat(backend, "DEMO-05")
    slots = await started(sender, "下周先还一部分", lang="zh")
    assert slots["promise_amount"] is None and slots["promise_date_span"].startswith("week:1:")
    form = ValidatePromiseForm()
    slots |= await form.validate_promise_amount(
        "两千", CollectingDispatcher(), tracker(sender, slots), {}
    )
    (question,) = await asked(ActionAskPromiseDate(), sender, slots)
    assert question.startswith("下周哪一天？")


async def test_next_month_in_chinese_asks_which_day_of_it(backend: RunningBackend) -> None:
    sender = await verified_chat(backend, "DEMO-05")
    slots = await started(sender, "我想约个还款日期", lang="zh")
    form = ValidatePromiseForm()
    dispatcher = CollectingDispatcher()
    slots |= await form.validate_promise_amount("两千", dispatcher, tracker(sender, slots), {})
    slots |= await form.validate_promise_date("下个月吧", dispatcher, tracker(sender, slots), {})
    assert slots["promise_date"] is None and slots["promise_date_span"].startswith("month:1:")
    assert dispatcher.messages == []
    (question,) = await asked(ActionAskPromiseDate(), sender, slots)
    policy = slots["promise_policy"]
    if policy["latest_date"] >= "2026-12-01":
        assert question.startswith("下个月几号？")
        slots |= await form.validate_promise_date("1号", dispatcher, tracker(sender, slots), {})
        assert slots["promise_date"] == "2026-12-01"
    else:  # the window ends before next month: the plain question with the window
        assert question.startswith("哪天还？")


async def test_an_unreadable_amount_is_said_with_the_question_in_one_message(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-06")
    slots = await started(sender, "I want to set a date to pay")
    form = ValidatePromiseForm()
    dispatcher = CollectingDispatcher()
    t = tracker(sender, slots, form="promise_form")
    slots |= await form.validate_promise_amount("5 or 6 hundred", dispatcher, t, {})
    slots |= await form.validate_promise_date(
        "whenever, 12", dispatcher, tracker(sender, slots), {}
    )
    assert dispatcher.messages == []
    messages = await asked(ActionAskPromiseAmount(), sender, slots)
    assert len(messages) == 1
    assert (
        messages[0].startswith(say("en", "bad_amount")) and "How much will you pay?" in messages[0]
    )
    assert slots["form_note"] is None  # said once


async def test_how_much_is_enough_is_answered_with_the_minimum_and_what_is_overdue(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-06")
    slots = await started(sender, "I want to set a date to pay")
    policy = slots["promise_policy"]
    dispatcher = CollectingDispatcher()
    t = tracker(sender, slots, "how much would be enough?", "check_balance", "promise_form")
    await ActionExplainFormStep().run(dispatcher, t, {})
    (answer,) = [m["text"] for m in dispatcher.messages]
    assert policy["minimum_amount"] in answer and policy["overdue_amount"] in answer
    assert "penalty interest" in answer

    dispatcher = CollectingDispatcher()
    t = tracker(sender, slots, "which days can I choose", "check_due_date", "promise_form")
    await ActionExplainFormStep().run(dispatcher, t, {})
    (answer,) = [m["text"] for m in dispatcher.messages]
    assert policy["earliest_date"] in answer and policy["latest_date"] in answer


async def test_why_the_phone_number_is_answered_while_verifying() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("webchat:forms-why", {"language": "zh"}, "为什么要我的手机号", "scam_concern")
    t.active_loop = {"name": "verification_form"}
    await ActionExplainFormStep().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [say("zh", "why_verify")]


@pytest.mark.parametrize(
    ("form", "said", "cleared"),
    [
        ("promise_form", "promise_cancelled", {"promise_amount", "promise_date_span"}),
        ("verification_form", "verification_stopped", {"phone", "pending_action"}),
    ],
)
async def test_cancel_ends_the_form_and_keeps_nothing(
    form: str, said: str, cleared: set[str]
) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("webchat:forms-cancel", {"promise_amount": "2000.00"}, "forget it", "deny", form)
    events = await ActionLeaveForm().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [say("en", said)]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    slots = set_slots(events)
    assert all(slots[name] is None for name in cleared)


async def test_another_request_ends_the_form_without_a_word() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("webchat:forms-leave", {}, "talk to a person", "request_human", "promise_form")
    events = await ActionLeaveForm().run(dispatcher, t, {})
    assert dispatcher.messages == []
    assert set_slots(events)["requested_slot"] is None


async def test_settlement_buttons_name_amount_and_shape_and_differ(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-06")
    dispatcher = CollectingDispatcher()
    t = tracker(sender, {}, "can I get a discount if I pay everything now", "request_settlement")
    await ActionShowOffers().run(dispatcher, t, {})
    (offers,) = dispatcher.messages
    titles = [b["title"] for b in offers["buttons"] if b["payload"].startswith("/choose_offer")]
    assert titles, offers
    assert len(set(titles)) == len(titles)
    assert all(t.split(". ", 1)[1].startswith("Settle ") for t in titles)
    assert all(any(ch.isdigit() for ch in t.split(". ", 1)[1]) for t in titles)


async def test_a_number_typed_after_the_offers_picks_that_offer(backend: RunningBackend) -> None:
    sender = await verified_chat(backend, "DEMO-03")
    dispatcher = CollectingDispatcher()
    t = tracker(sender, {"language": "zh"}, "能不能分期还", "request_installment")
    shown = set_slots(await ActionShowOffers().run(dispatcher, t, {}))["offers_shown"]
    assert len(shown) >= 2

    t = tracker(sender, {"language": "zh", "offers_shown": shown}, "第二个", "inform")
    events = await ActionFallback().run(CollectingDispatcher(), t, {})
    assert set_slots(events)["offer_id"] == shown[1]
    assert events[-1] == {"event": "followup", "name": "action_accept_offer", "timestamp": None}

    dispatcher = CollectingDispatcher()
    t = tracker(sender, {"language": "zh", "offer_id": shown[1]}, "第二个", "inform")
    t.latest_action_name = "action_fallback"
    events = await ActionAcceptOffer().run(dispatcher, t, {})
    (done,) = [m["text"] for m in dispatcher.messages]
    assert "方案已生效" in done or "审批" in done
    assert set_slots(events)["offers_shown"] is None
    assert events[-1]["name"] == "action_listen"  # the turn ends: no guess by the policies


async def test_a_number_with_no_offers_shown_is_not_understood() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("webchat:forms-stray", {}, "2", "inform")
    events = await ActionFallback().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [say("en", "not_understood")]
    assert set_slots(events)["misunderstood"] == 1


async def test_a_contact_change_asks_for_the_new_details_then_records_them(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-06")
    t = tracker(sender, {}, "I changed my phone number", "update_contact")
    events = await ActionRecordCase().run(CollectingDispatcher(), t, {})
    assert events[-1] == {"event": "followup", "name": "contact_form", "timestamp": None}

    form = ValidateContactForm()
    dispatcher = CollectingDispatcher()
    slots = await form.validate_new_contact("ok", dispatcher, tracker(sender), {})
    assert slots == {"new_contact": None, "form_note": "bad_contact"}
    dispatcher = CollectingDispatcher()
    await ActionAskNewContact().run(dispatcher, tracker(sender, slots, form="contact_form"), {})
    (asked,) = [m["text"] for m in dispatcher.messages]
    assert asked.startswith(say("en", "bad_contact")) and "new mobile number" in asked

    slots = await form.validate_new_contact("+65 9123 4567", dispatcher, tracker(sender), {})
    dispatcher = CollectingDispatcher()
    await ActionSubmitContact().run(dispatcher, tracker(sender, slots), {})
    assert [m["text"] for m in dispatcher.messages] == [say("en", "case_contact_update")]
    cases = backend.api().get("/cases", params={"kind": "contact_update"}).json()
    assert any(c["details"] == "new contact: +65 9123 4567" for c in cases)


async def test_a_contact_change_that_gives_the_number_is_recorded_at_once(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-05")
    text = "我换手机号了，新号码 13912345678"
    dispatcher = CollectingDispatcher()
    t = tracker(sender, {"language": "zh"}, text, "update_contact")
    events = await ActionRecordCase().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [say("zh", "case_contact_update")]
    assert events[-1]["name"] == "action_listen"  # no form: the rule's form is not started


async def test_a_number_picks_an_offer_only_just_after_them() -> None:
    t = tracker("webchat:forms-later", {"offers_shown": ["offer-1", "offer-2"]}, "", "greet")
    events = await ActionLeaveForm().run(CollectingDispatcher(), t, {})  # any other action
    assert set_slots(events)["offers_shown"] is None


async def test_when_to_write_is_kept_as_a_contact_preference(backend: RunningBackend) -> None:
    sender = await verified_chat(backend, "DEMO-04")
    dispatcher = CollectingDispatcher()
    t = tracker(sender, {"language": "zh"}, "周末别发", "update_contact")
    events = await ActionRecordCase().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [
        say("zh", "contact_preference_set", when="工作日")
    ]
    assert events[-1]["name"] == "action_listen"  # no form: nothing more to ask
    dispatcher = CollectingDispatcher()
    t = tracker(sender, {"language": "zh"}, "随时都可以联系我", "update_contact")
    await ActionRecordCase().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [say("zh", "contact_preference_cleared")]
    # words that say neither when nor where still ask for the new details
    t = tracker(sender, {}, "I changed my phone number", "update_contact")
    events = await ActionRecordCase().run(CollectingDispatcher(), t, {})
    assert events[-1] == {"event": "followup", "name": "contact_form", "timestamp": None}


async def test_the_consequences_asked_while_verifying_are_answered_without_buttons_away() -> None:
    """An unverified question (nlu/data/rules.yml): the plain facts, then the form asks the phone
    number again; no buttons that would leave the form half done."""
    from actions.balance import ActionExplainConsequences

    sender = f"webchat:forms-{next(_chats)}"
    inside, outside = CollectingDispatcher(), CollectingDispatcher()
    asked = tracker(sender, text="what if i don't pay", intent="ask_consequences")
    await ActionExplainConsequences().run(outside, asked, {})
    asked_in_form = tracker(
        sender, text="what if i don't pay", intent="ask_consequences", form="verification_form"
    )
    await ActionExplainConsequences().run(inside, asked_in_form, {})
    assert [m["text"] for m in inside.messages] == [m["text"] for m in outside.messages]
    assert inside.messages[0]["text"]
    assert inside.messages[0]["buttons"] == [] and outside.messages[0]["buttons"]


async def test_more_than_the_payoff_is_said_with_the_confirmation_not_silently(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-06")
    slots = await started(sender, "I want to set a date to pay")
    payoff = slots["promise_policy"]["maximum_amount"]
    t = tracker(sender, slots, "I'll pay 100000", form="promise_form")
    slots |= await ValidatePromiseForm().validate_promise_amount(
        "100000", CollectingDispatcher(), t, {}
    )
    assert slots["promise_amount"] == payoff and slots["form_note"] == "amount_capped"
    slots["promise_date"] = slots["promise_policy"]["latest_date"]
    dispatcher = CollectingDispatcher()
    events = await ActionAskPromiseConfirmed().run(
        dispatcher, tracker(sender, slots, form="promise_form"), {}
    )
    (question,) = [m["text"] for m in dispatcher.messages]
    assert question.startswith(say("en", "amount_capped")) and payoff in question
    assert set_slots(events)["form_note"] is None  # said once
    slots |= set_slots(events)
    # An amount within what is owed is confirmed as said, with no note.
    slots |= await ValidatePromiseForm().validate_promise_amount(
        "2000", CollectingDispatcher(), tracker(sender, slots, form="promise_form"), {}
    )
    assert slots["promise_amount"] == "2000.00" and slots["form_note"] is None


async def test_the_due_date_alone_says_what_is_overdue_without_a_total_before_it(
    backend: RunningBackend,
) -> None:
    from actions.balance import ActionCheckDueDate

    sender = await verified_chat(backend, "DEMO-04")
    dispatcher = CollectingDispatcher()
    await ActionCheckDueDate().run(
        dispatcher, tracker(sender, text="when is my next payment", intent="check_due_date"), {}
    )
    (answer,) = [m["text"] for m in dispatcher.messages]
    assert "Of this" not in answer
    assert "is overdue (days past due: 45)" in answer and "Next payment:" in answer
