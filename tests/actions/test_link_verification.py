"""`/start <token>` as the assistant meets it: Rasa's REST channel has redeemed the token with
the backend and passes on only the backend's answer (nlu/channels.py), so the token never
reaches a tracker. The action says what the answer says, and believes a "verified" only when
the backend agrees (the real backend, a process, demo data as of 2026-11-29)."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.messages import say
from actions.verification import ActionVerifyToken
from tests.actions.conftest import RunningBackend

pytestmark = pytest.mark.asyncio
_chats = count(1)


def tracker(answer: dict[str, Any] | None) -> Tracker:
    metadata = {"channel": "telegram"}
    if answer is not None:
        metadata["link_verification"] = answer  # type: ignore[assignment]
    return Tracker(
        sender_id=f"telegram:link-{next(_chats)}",
        slots={"language": "en"},
        latest_message={
            "text": "/verify_token",
            "intent": {"name": "verify_token"},
            "entities": [],
            "metadata": metadata,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


async def run(t: Tracker) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionVerifyToken().run(dispatcher, t, {})
    return [m.get("text") or "" for m in dispatcher.messages], events


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_a_redeemed_token_verifies_the_chat(served: RunningBackend) -> None:
    t = tracker(None)
    answer = await served.redeemed_link(t.sender_id, "DEMO-02")
    t.latest_message["metadata"]["link_verification"] = answer
    said, events = await run(t)
    assert said == [say("en", "verified", name=answer["first_name"] or "")]
    assert slots(events)["verified"] is True


async def test_a_claimed_verification_the_backend_denies_verifies_nothing(
    served: RunningBackend,
) -> None:
    said, events = await run(tracker({"status": "verified", "first_name": "Emily"}))
    assert said == [say("en", "token_failed")]
    assert "verified" not in slots(events)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "token_failed"),  # a /verify_token the channel did not redeem
        ({"status": "failed", "attempts_left": 2}, "token_failed"),
        ({"status": "locked", "attempts_left": 0}, "verify_locked"),
        ({"status": "unavailable"}, "backend_down"),
        ({"status": "refused"}, "refused"),
    ],
)
async def test_every_other_answer_is_said_as_before(
    served: RunningBackend, answer: dict[str, Any] | None, message: str
) -> None:
    said, events = await run(tracker(answer))
    assert said == [say("en", message)]
    assert "verified" not in slots(events)
