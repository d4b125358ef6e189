"""What a borrower says inside a form that is not the answer it asked for.

A question about the form's own subject (how much is enough, which day is allowed, why the
phone number) is answered here, and the rule that ran this action then lets the form ask its
question again (nlu/data/rules.yml). A request that takes the chat elsewhere ends the form
first, with nothing it asked for kept; a "cancel" ends it with a word to say so.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.common import BorrowerAction, Events
from actions.messages import say
from actions.promises import FORM_SLOTS, form_policy

# What each form fills, cleared when it ends early so the next one starts from nothing.
SLOTS_OF_FORM = {
    "promise_form": FORM_SLOTS,
    "verification_form": (
        "phone",
        "second_factor",
        "pending_action",
        "pending_intent",
        "pending_text",
    ),
    "contact_form": ("new_contact", "phone", "form_note"),
}
# What a cancel says, by form.
CANCELLED = {
    "promise_form": "promise_cancelled",
    "verification_form": "verification_stopped",
    "contact_form": "contact_unchanged",
}
# Questions about the amount, about the day: answered with the figures of the promise policy.
AMOUNT_QUESTIONS = {"check_balance", "ask_consequences"}
DAY_QUESTIONS = {"check_due_date"}
# Requests that need the borrower verified, made while verifying: the one done once verified is
# the latest asked for ("I'll do it once you're verified" is said of this one).
AFTER_VERIFYING = {
    "check_balance": "action_check_balance",
    "check_due_date": "action_check_due_date",
    "payment_history": "action_payment_history",
    "make_payment": "action_payment_link",
    "promise_to_pay": "action_start_promise",
    "request_installment": "action_show_offers",
    "request_extension": "action_show_offers",
    "request_settlement": "action_show_offers",
}


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


class ActionExplainFormStep(BorrowerAction):
    def name(self) -> str:
        return "action_explain_form_step"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        form = tracker.active_loop.get("name")
        intent = _intent(tracker)
        if form == "verification_form":
            key = "why_verify" if intent in ("scam_concern", "bot_challenge") else "after_verify"
            dispatcher.utter_message(text=say(lang, key))
            if intent in AFTER_VERIFYING:
                return [
                    SlotSet("pending_action", AFTER_VERIFYING[intent]),
                    SlotSet("pending_intent", intent),
                    SlotSet("pending_text", tracker.latest_message.get("text")),
                ]
            return []
        if form == "contact_form" and intent in ("scam_concern", "bot_challenge"):
            dispatcher.utter_message(text=say(lang, "why_contact"))
            return []
        if form != "promise_form" or intent not in AMOUNT_QUESTIONS | DAY_QUESTIONS:
            return []  # a greeting or a bare "ok": the form's question, asked again, answers it
        policy = await form_policy(tracker, client)
        if intent in DAY_QUESTIONS:
            dispatcher.utter_message(text=explain_days(lang, policy))
        else:
            dispatcher.utter_message(text=explain_amounts(lang, policy))
        return []


def explain_amounts(lang: str, policy: Any) -> str:
    """The minimum, what is overdue, and what paying each does."""
    if policy.overdue_amount <= 0:
        return say(
            lang, "why_amount_not_overdue", minimum=policy.minimum_amount, cur=policy.currency
        )
    return say(
        lang,
        "why_amount",
        minimum=policy.minimum_amount,
        overdue=policy.overdue_amount,
        cur=policy.currency,
    )


def explain_days(lang: str, policy: Any) -> str:
    return say(
        lang,
        "why_days",
        earliest=policy.earliest_date,
        latest=policy.latest_date,
        days=policy.max_days_ahead,
    )


class ActionLeaveForm(BorrowerAction):
    """End the open form before the request that interrupted it runs; on a plain "cancel",
    say it is cancelled."""

    def name(self) -> str:
        return "action_leave_form"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        form = tracker.active_loop.get("name")
        if _intent(tracker) == "deny" and form in CANCELLED:
            dispatcher.utter_message(text=say(lang, CANCELLED[form]))
        cleared = [SlotSet(slot, None) for slot in SLOTS_OF_FORM.get(form or "", ())]
        return [ActiveLoop(None), SlotSet("requested_slot", None), *cleared]
