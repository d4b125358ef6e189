"""A turn run again writes nothing twice. The gateway sends a turn again when it failed on the
way (nlu/turns.py): an action's answer was lost after the backend had written, or a later
action of the turn could not run. The turn was not saved, so its actions run again with the
same tracker; their writes carry the same keys and the backend answers them from the first run.
Against the real backend (a process, demo data as of 2026-11-29)."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.cases import ActionRecordCase
from actions.request_ids import once_key
from tests.actions.conftest import RunningBackend
from tests.actions.test_backend_client import LosingAnswers

pytestmark = pytest.mark.asyncio
_chats = count(1)


def tracker(user_id: str, turn: str | None, events: list[dict[str, Any]] | None = None) -> Tracker:
    said = {
        "text": "这笔钱我三月份已经还过了",
        "intent": {"name": "dispute_debt"},
        "metadata": {"turn": turn} if turn else {},
    }
    return Tracker(
        sender_id=f"telegram:{user_id}",
        slots={"language": "zh", "verified": True},
        latest_message=said,
        events=events or [{"event": "user", "text": said["text"], "parse_data": said}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


async def verified_chat(backend: RunningBackend, ref: str) -> str:
    user_id = f"again-{next(_chats)}"
    async with api.Backend(backend.url, backend.token) as client:
        result = await client.verify_link_token("telegram", user_id, backend.link_token(ref))
    assert result.verified
    return user_id


async def record(user_id: str, turn: str | None) -> list[str]:
    dispatcher = CollectingDispatcher()
    await ActionRecordCase().run(dispatcher, tracker(user_id, turn), {})
    return [m.get("text") or "" for m in dispatcher.messages]


class TestADisputeRunAgain:
    async def test_the_same_turn_files_one_case_and_says_the_same(
        self, served: RunningBackend
    ) -> None:
        user_id = await verified_chat(served, "DEMO-05")
        first = await record(user_id, "m501")
        again = await record(user_id, "m501")
        assert again == first and first
        async with api.Backend() as client:
            state = await client.get_conversation("telegram", user_id)
        assert state.verified
        assert len(await dispute_ids(served, user_id)) == 1

    async def test_another_message_files_another(self, served: RunningBackend) -> None:
        user_id = await verified_chat(served, "DEMO-05")
        await record(user_id, "m601")
        await record(user_id, "m602")
        assert len(await dispute_ids(served, user_id)) == 2


async def dispute_ids(backend: RunningBackend, user_id: str) -> list[int]:
    """The disputes filed from this chat, as staff see them."""
    with backend.api() as http:
        r = http.get("/cases", params={"kind": "dispute", "limit": 500})
        assert r.status_code == 200, r.text
    return [c["id"] for c in r.json() if c["user_id"] == user_id]


class TestALostAnswer:
    async def test_a_keyed_case_is_tried_again_and_filed_once(
        self, backend: RunningBackend
    ) -> None:
        user_id = await verified_chat(backend, "DEMO-07")
        transport = LosingAnswers(1)
        async with api.Backend(
            backend.url, backend.token, transport=transport, once_key="m700/action_record_case.0"
        ) as flaky:
            case = await flaky.create_case("telegram", user_id, "dispute", loan_ref="L-DEMO-07")
        assert case.kind == "dispute"
        assert await dispute_ids(backend, user_id) == [case.id]

    async def test_without_a_key_it_is_not_tried_again(self, backend: RunningBackend) -> None:
        user_id = await verified_chat(backend, "DEMO-07")
        async with api.Backend(backend.url, backend.token, transport=LosingAnswers(1)) as flaky:
            with pytest.raises(api.BackendUnavailable):
                await flaky.create_case("telegram", user_id, "complaint", details="rude")


class TestOnceKey:
    async def test_the_turn_the_action_and_its_runs_so_far_in_the_turn(self) -> None:
        said = {"text": "hi", "metadata": {"turn": "w42"}}
        events = [
            {"event": "action", "name": "action_record_case"},  # an earlier turn's
            {"event": "user", "text": "hi"},
            {"event": "action", "name": "action_record_case"},
            {"event": "action", "name": "action_handoff"},
        ]
        assert once_key(said, events, "action_record_case") == "w42/action_record_case.1"
        assert once_key(said, events, "action_handoff") == "w42/action_handoff.1"
        assert once_key(said, events[:2], "action_record_case") == "w42/action_record_case.0"

    async def test_no_turn_or_a_malformed_one_is_no_key(self) -> None:
        assert once_key({"text": "hi"}, [], "action_greet") is None
        assert once_key({"metadata": {"turn": "a b"}}, [], "action_greet") is None
        assert once_key({"metadata": {"turn": 7}}, [], "action_greet") is None
