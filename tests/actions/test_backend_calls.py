"""What a borrower message costs the backend from the action server (against the real backend, a
process, demo data as of 2026-11-29): no call only to ask whether the chat is verified, the
promise policy read once per promise form, and one connection pool per process."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.balance import ActionCheckBalance
from actions.messages import say
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


def tracker(sender: str, slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": "en", **(slots or {})},
        latest_message={"text": "", "intent": {"name": "promise_to_pay"}, "metadata": {}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def set_slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def verified_chat(backend: RunningBackend) -> str:
    """A new web chat linked to DEMO-03 with a link token, as the channel redeems one."""
    sender = f"webchat:calls-{next(_chats)}"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(backend.url, backend.token) as client:
        verified = await client.verify_link_token(channel, user_id, backend.link_token("DEMO-03"))
    assert verified.status == "verified"
    return sender


@pytest.fixture
def calls(backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The backend calls the actions make, as "METHOD /path" (the pooled client, recorded)."""
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("SERVICE_TOKEN", backend.token)
    made: list[str] = []
    plain = api._client

    async def record(request: httpx.Request) -> None:
        made.append(f"{request.method} {request.url.path.removeprefix('/api/v1')}")

    def recording(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        client = plain(*args, **kwargs)
        client.event_hooks["request"].append(record)
        return client

    monkeypatch.setattr(api, "_client", recording)
    api._pools.clear()  # a pool made before the recording would not record
    yield made
    api._pools.clear()


async def test_an_unverified_chat_is_asked_to_verify_after_one_call(
    calls: list[str],
) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(f"telegram:calls-{next(_chats)}")
    events = await ActionCheckBalance().run(dispatcher, t, {})
    assert [m["text"] for m in dispatcher.messages] == [say("en", "verify_intro")]
    assert set_slots(events)["pending_action"] == "action_check_balance"
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "verification_form"
    # The loans call answered 403 verification_required: no call made only to ask.
    assert len(calls) == 1 and calls[0].startswith("GET /conversations/telegram/calls-")


async def test_a_promise_form_reads_the_policy_once(
    calls: list[str], backend: RunningBackend
) -> None:
    sender = await verified_chat(backend)
    calls.clear()

    dispatcher = CollectingDispatcher()
    slots = set_slots(await ActionStartPromise().run(dispatcher, tracker(sender), {}))
    assert slots["promise_policy"]["loan_ref"] == slots["loan_ref"]
    form = ValidatePromiseForm()
    await ActionAskPromiseAmount().run(dispatcher, tracker(sender, slots), {})
    slots |= await form.validate_promise_amount("2500", dispatcher, tracker(sender, slots), {})
    await ActionAskPromiseDate().run(dispatcher, tracker(sender, slots), {})
    slots |= await form.validate_promise_date("2026-12-04", dispatcher, tracker(sender, slots), {})
    await ActionAskPromiseConfirmed().run(dispatcher, tracker(sender, slots), {})

    assert (slots["promise_amount"], slots["promise_date"]) == ("2500.00", "2026-12-04")
    assert "2500.00" in dispatcher.messages[-1]["text"]
    assert sum(call.endswith("/promise-policy") for call in calls) == 1
    assert len(calls) == 2  # the loans and the policy, when the form started


async def test_a_policy_kept_for_another_loan_is_not_used(
    calls: list[str], backend: RunningBackend
) -> None:
    sender = await verified_chat(backend)
    slots = set_slots(await ActionStartPromise().run(CollectingDispatcher(), tracker(sender), {}))
    calls.clear()
    stale = {**slots, "promise_policy": {**slots["promise_policy"], "loan_ref": "OTHER-1"}}
    await ActionAskPromiseAmount().run(CollectingDispatcher(), tracker(sender, stale), {})
    assert [call.rsplit("/", 1)[-1] for call in calls] == ["promise-policy"]


async def test_action_runs_share_one_connection_pool_and_keep_their_request_ids() -> None:
    first = api.Backend("http://backend.invalid", "t", request_id="a" * 32)
    second = api.Backend("http://backend.invalid", "t", request_id="b" * 32)
    assert first._http is second._http
    await first.aclose()  # a run's end leaves the pool to the next run
    assert not second._http.is_closed
    assert first._headers != second._headers
