"""What a borrower asks for while the assistant verifies them, against the real backend: the
request asked for last is the one done once verified, a case keeps the words of the request
(never the verification's answers: a second factor is not a case's details), and an answer to
the verification's questions fills nothing of the waiting request (a birth date is not the day
of a promise)."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.cases import ActionRecordCase
from actions.forms import ActionExplainFormStep
from actions.messages import say
from actions.verification import ValidateVerificationForm, requests_kept
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
    intent: str = "inform",
    events: list[dict[str, Any]] | None = None,
    entities: dict[str, str] | None = None,
) -> Tracker:
    found = [{"entity": name, "value": value} for name, value in (entities or {}).items()]
    return Tracker(
        sender_id=sender,
        slots={"language": "en", **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent},
            "entities": found,
            "metadata": {},
        },
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": "verification_form"},
        latest_action_name="action_listen",
    )


def set_slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def verified_chat(backend: RunningBackend, borrower: str) -> str:
    sender = f"webchat:verifying-{next(_chats)}"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(backend.url, backend.token) as client:
        verified = await client.verify_link_token(channel, user_id, backend.link_token(borrower))
    assert verified.status == "verified"
    return sender


@pytest.mark.parametrize(
    ("intent", "action"),
    [
        ("promise_to_pay", "action_start_promise"),
        ("request_installment", "action_show_offers"),
        ("make_payment", "action_payment_link"),
    ],
)
async def test_a_request_made_while_verifying_is_the_one_done_once_verified(
    intent: str, action: str
) -> None:
    sender = f"webchat:verifying-{next(_chats)}"
    slots = {"pending_action": "action_check_balance", "pending_intent": "check_balance"}
    dispatcher = CollectingDispatcher()
    events = await ActionExplainFormStep().run(
        dispatcher, tracker(sender, slots, "words of the request", intent), {}
    )
    assert [m["text"] for m in dispatcher.messages] == [say("en", "after_verify")]
    waiting = {k: v for k, v in set_slots(events).items() if k.startswith("pending_")}
    assert waiting == {
        "pending_action": action,
        "pending_intent": intent,
        "pending_text": "words of the request",
    }


async def test_a_question_while_verifying_leaves_the_waiting_request_alone() -> None:
    sender = f"webchat:verifying-{next(_chats)}"
    slots = {"pending_action": "action_check_balance", "pending_intent": "check_balance"}
    events = await ActionExplainFormStep().run(
        CollectingDispatcher(), tracker(sender, slots, "are you a bot", "bot_challenge"), {}
    )
    assert not any(name.startswith("pending_") for name in set_slots(events))


async def test_a_case_made_once_verified_keeps_the_words_of_the_request_not_the_answers(
    backend: RunningBackend,
) -> None:
    sender = await verified_chat(backend, "DEMO-02")
    words = "I lost my job last month and cannot pay"
    slots = {
        "pending_action": "action_record_case",
        "pending_intent": "report_hardship",
        "pending_text": words,
    }
    # The verification's last answer is the latest message when the waiting request runs.
    dispatcher = CollectingDispatcher()
    await ActionRecordCase().run(dispatcher, tracker(sender, slots, "4321", "inform"), {})
    assert dispatcher.messages[0]["text"] == say("en", "case_hardship")
    cases = backend.api().get("/cases", params={"kind": "hardship"}).json()
    details = [c["details"] for c in cases]
    assert words in details
    assert "4321" not in details


def _said(text: str, *slots: tuple[str, Any]) -> list[dict[str, Any]]:
    """A user message and the slots its entities set after it, as Rasa logs them."""
    return [
        {"event": "user", "text": text},
        *({"event": "slot", "name": name, "value": value} for name, value in slots),
    ]


async def test_an_answer_to_verification_gives_back_the_request_slots_it_set() -> None:
    events = [
        *_said("我下周五还两千", ("amount", "两千"), ("date", "下周五")),
        {"event": "action", "name": "verification_form"},
        *_said("1985-02-14", ("date", "1985-02-14")),
    ]
    t = tracker("webchat:verifying-kept", events=events)
    assert requests_kept(t) == {"date": "下周五"}
    first = [*_said("1985-02-14", ("date", "1985-02-14"), ("amount", "1985"))]
    assert requests_kept(tracker("webchat:verifying-none", events=first)) == {
        "date": None,
        "amount": None,
    }
    assert requests_kept(tracker("webchat:verifying-empty", events=[])) == {}


async def test_a_birth_date_given_as_the_second_factor_is_not_the_day_of_the_promise(
    backend: RunningBackend,
) -> None:
    sender = f"webchat:verifying-{next(_chats)}"
    events = [
        *_said("I can pay on friday", ("date", "friday")),
        {"event": "action", "name": "verification_form"},
        *_said("+86 139 0013 9003"),
        {"event": "action", "name": "verification_form"},
        *_said("1985-02-14", ("date", "1985-02-14")),
    ]
    slots = {"phone": "+8613900139003", "date": "1985-02-14"}
    t = tracker(sender, slots, "1985-02-14", "inform", events)
    kept = await ValidateVerificationForm().validate_second_factor(
        "1985-02-14", CollectingDispatcher(), t, {}
    )
    assert kept["verified"] is True  # DEMO-03's birth date
    assert kept["date"] == "friday"


async def test_the_promise_waiting_for_verification_keeps_its_own_day_not_the_birth_date(
    backend: RunningBackend,
) -> None:
    """The promise form opens on the turn the second factor verified the chat: the form takes
    the message's date entity (the birth date) for the promise's day, and that is undone."""
    from actions.promises import ActionStartPromise, ValidatePromiseForm

    sender = await verified_chat(backend, "DEMO-03")
    said = _said("1985-02-14", ("date", "1985-02-14"))
    answered = [*said, {"event": "action", "name": "verification_form"}]
    started = await ActionStartPromise().run(
        CollectingDispatcher(),
        tracker(sender, {"date": "明天", "amount": "一千"}, "1985-02-14", "inform", answered),
        {},
    )
    slots = set_slots(started)
    assert slots["promise_date"] == "明天" and slots["promise_amount"] == "一千"
    # The form's candidates from the message, after what action_start_promise set.
    turn = [*answered, *started, {"event": "slot", "name": "promise_date", "value": "1985-02-14"}]
    t = tracker(sender, slots, "1985-02-14", "inform", turn, {"date": "1985-02-14"})
    t.active_loop = {"name": "promise_form"}
    form = ValidatePromiseForm()
    dated = await form.validate_promise_date("1985-02-14", CollectingDispatcher(), t, {})
    assert dated["promise_date"] == "2026-11-30"  # 明天 of the demo's day
    amount = await form.validate_promise_amount("一千", CollectingDispatcher(), t, {})
    assert amount == {"promise_amount": "1000.00"}
    # Not after verification: the message's own day is the promise's.
    plain = tracker(
        sender, slots, "下周一", "inform", _said("下周一", ("date", "下周一")), {"date": "下周一"}
    )
    plain.active_loop = {"name": "promise_form"}
    assert (await form.validate_promise_date("下周一", CollectingDispatcher(), plain, {}))[
        "promise_date"
    ] == "2026-11-30"
