"""Handing the chat to a person: the handoff is created in the backend (the gateway has logged
every message of the chat there already), and the Rasa conversation is paused so the bot never
talks over a collector."""

from __future__ import annotations

from rasa_sdk.events import ConversationPaused, SlotSet

from actions.common import BorrowerAction, Events, request_intent, request_text
from actions.messages import say

REASON_OF_INTENT = {
    "request_human": "borrower_request",
    "complaint": "complaint",
    "dispute_debt": "dispute",
    "distress": "distress",
    "nlu_fallback": "misunderstood",
    "inform": "misunderstood",
    "affirm": "misunderstood",
    "deny": "misunderstood",
}


class ActionHandoff(BorrowerAction):
    def name(self) -> str:
        return "action_handoff"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        reason = tracker.get_slot("handoff_reason") or REASON_OF_INTENT.get(
            request_intent(tracker) or "", "borrower_request"
        )
        if int(tracker.get_slot("misunderstood") or 0) >= 2:
            reason = "misunderstood"
        await client.create_handoff(channel, user_id, reason, details=request_text(tracker))
        dispatcher.utter_message(text=say(lang, "handoff"))
        return [SlotSet("misunderstood", 0), SlotSet("handoff_reason", None), ConversationPaused()]
