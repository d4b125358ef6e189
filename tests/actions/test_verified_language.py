"""The language of the replies once a borrower is verified, against the real backend (demo data:
李强, DEMO-03, is on file as Chinese; David Tan, DEMO-04, as English). The answer that verifies
says nothing of a language ("4321", a link's payload): the messages before it do, and they
come before the profile; a language the borrower picked comes before both."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.messages import say
from actions.verification import ActionVerifyToken, ValidateVerificationForm
from tests.actions.conftest import RunningBackend

pytestmark = pytest.mark.asyncio
_chats = count(1)


def said_before(*texts: str) -> list[dict[str, Any]]:
    return [{"event": "user", "text": text, "metadata": {}} for text in texts]


def tracker(text: str, earlier: list[dict[str, Any]], slots: dict[str, Any]) -> Tracker:
    latest = {"text": text, "intent": {"name": "inform"}, "entities": [], "metadata": {}}
    return Tracker(
        sender_id=f"webchat:verified-language-{next(_chats)}",
        slots=slots,
        latest_message=latest,
        events=[*earlier, {"event": "user", **latest}],
        paused=False,
        followup_action=None,
        active_loop={"name": "verification_form"},
        latest_action_name="action_listen",
    )


async def verify_by_phone(t: Tracker) -> tuple[list[str], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    slots = await ValidateVerificationForm().validate_second_factor(
        t.get_slot("second_factor"), dispatcher, t, {}
    )
    return [m.get("text") or "" for m in dispatcher.messages], slots


@pytest.mark.parametrize(
    ("phone", "second_factor", "earlier", "name", "expected"),
    [
        # 李强 on file as Chinese, writing English: English.
        ("+8613900139003", "4321", ("how much do I owe?", "+8613900139003"), "李强", "en"),
        # David Tan on file as English, writing Chinese: Chinese.
        ("+6598765432", "456H", ("我还欠多少钱", "+6598765432"), "David", "zh"),
        # Nothing written that shows a language: the profile.
        ("+8613900139003", "4321", ("/check_balance", "+8613900139003"), "李强", "zh"),
    ],
)
async def test_the_language_written_in_comes_before_the_profile(
    served: RunningBackend,
    phone: str,
    second_factor: str,
    earlier: tuple[str, ...],
    name: str,
    expected: str,
) -> None:
    # The slot as the turns before left it: the language of the app (zh) before any words.
    slots = {"language": "zh", "phone": phone, "second_factor": second_factor}
    said, set_slots = await verify_by_phone(tracker(second_factor, said_before(*earlier), slots))
    assert said == [say(expected, "verified", name=name)]
    assert set_slots["verified"] is True and set_slots["language"] == expected


async def test_a_language_picked_comes_before_both(served: RunningBackend) -> None:
    slots = {
        "language": "zh",
        "language_chosen": True,
        "phone": "+8613900139003",
        "second_factor": "4321",
    }
    said, set_slots = await verify_by_phone(tracker("4321", said_before("how much?"), slots))
    assert said == [say("zh", "verified", name="李强")]
    assert set_slots["language"] == "zh"


async def test_a_link_opened_after_english_words_answers_in_english(
    served: RunningBackend,
) -> None:
    t = tracker("/verify_token", said_before("hello, what is this about?"), {"language": "en"})
    t.latest_message["metadata"]["link_verification"] = await served.redeemed_link(
        t.sender_id, "DEMO-03"
    )
    dispatcher = CollectingDispatcher()
    events = await ActionVerifyToken().run(dispatcher, t, {})
    assert [m.get("text") for m in dispatcher.messages] == [say("en", "verified", name="李强")]
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"}["verified"] is True
