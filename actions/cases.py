"""Hardship, disputes, complaints, "I already paid", contact changes and opt-outs: recorded
in the backend, and the borrower told what happens next. Disputes and complaints go to a person."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import backend as api
from actions.common import (
    BorrowerAction,
    Events,
    current_loan,
    remember_request,
    request_intent,
    request_text,
    with_note,
)
from actions.messages import buttons, say

CASE_OF_INTENT = {
    "report_hardship": "hardship",
    "dispute_debt": "dispute",
    "complaint": "complaint",
    "already_paid": "payment_trace",
    "update_contact": "contact_update",
    "stop_contact": "opt_out",
}
NEEDS_LOAN = {"hardship", "dispute", "payment_trace"}
HANDED_TO_A_PERSON = {"dispute": "dispute", "complaint": "complaint"}
VERIFIED_ONLY = {"hardship", "dispute", "payment_trace", "contact_update"}
MESSAGE = {
    "hardship": "case_hardship",
    "dispute": "case_dispute",
    "complaint": "case_complaint",
    "payment_trace": "case_already_paid",
    "contact_update": "case_contact_update",
    "opt_out": "case_opt_out",
}


class ActionRecordCase(BorrowerAction):
    def name(self) -> str:
        return "action_record_case"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        kind = CASE_OF_INTENT.get(request_intent(tracker) or "", "complaint")
        details = request_text(tracker)
        if (
            kind in VERIFIED_ONLY
            and not (await client.upsert_conversation(channel, user_id)).verified
        ):
            if kind == "dispute":  # unverified: nothing disclosed, but a person takes it
                return [FollowupAction("action_handoff")]
            dispatcher.utter_message(text=say(lang, "verify_intro"))
            return remember_request(tracker, self.name())
        if kind == "contact_update" and not names_contact(details):
            return await when_not_where(dispatcher, client, channel, user_id, lang, details)
        loan = await current_loan(client, channel, user_id, tracker) if kind in NEEDS_LOAN else None
        loan_ref = loan.loan_ref if loan else None
        if kind == "payment_trace" and loan is not None:
            paid = await client.payments(channel, user_id, loan.loan_ref)
            recent = [p for p in paid if p.received_on >= loan.as_of - timedelta(days=14)]
            if recent:
                p = recent[0]
                dispatcher.utter_message(
                    text=say(
                        lang,
                        "already_paid_found",
                        date=p.received_on,
                        amount=p.amount,
                        cur=p.currency,
                    )
                )
                return []
        await client.create_case(
            channel, user_id, kind, loan_ref=loan_ref, details=details, hold=kind == "hardship"
        )
        text = say(lang, MESSAGE[kind])
        if kind in HANDED_TO_A_PERSON:
            dispatcher.utter_message(text=text)
            return [FollowupAction("action_handoff")]
        extra = (
            buttons(lang, "/request_installment", "/request_human") if kind == "hardship" else None
        )
        dispatcher.utter_message(text=text, buttons=extra)
        # "update contact" is followed by the contact form in the rules: not when it was given
        return [FollowupAction("action_listen")] if kind == "contact_update" else []


async def when_not_where(
    dispatcher: CollectingDispatcher,
    client: api.Backend,
    channel: str,
    user_id: str,
    lang: str,
    said: str,
) -> Events:
    """A contact change that names no number or address: "周末别发", "only after 7pm" say when
    to write, kept as the borrower's contact preference; anything else asks for the details."""
    wish = await client.set_contact_preference(channel, user_id, said)
    if wish.withdrawn:
        dispatcher.utter_message(text=say(lang, "contact_preference_cleared"))
        return [FollowupAction("action_listen")]
    if wish.recorded and wish.described:
        when = wish.described.get(lang) or wish.described["en"]
        dispatcher.utter_message(text=say(lang, "contact_preference_set", when=when))
        return [FollowupAction("action_listen")]
    return [FollowupAction("contact_form")]  # ask for the new number or address


# A phone number (7+ digits, spaces and dashes allowed) or an e-mail address.
_CONTACT = re.compile(r"\+?\d[\d\s-]{5,}\d|[^\s@]+@[^\s@]+\.[a-z]{2,}", re.IGNORECASE)


def names_contact(text: str) -> bool:
    return bool(_CONTACT.search(text))


class ValidateContactForm(FormValidationAction):
    """The new number, e-mail or address, as typed: staff confirm it with the borrower before
    changing anything. Too short to be any of them is asked again, saying so."""

    def name(self) -> str:
        return "validate_contact_form"

    async def validate_new_contact(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text:
            return {"new_contact": None}
        if not names_contact(text) and len(text) < 6:
            return {"new_contact": None, "form_note": "bad_contact"}
        return {"new_contact": text[:500]}


class ActionAskNewContact(BorrowerAction):
    def name(self) -> str:
        return "action_ask_new_contact"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        dispatcher.utter_message(text=with_note(lang, tracker, say(lang, "ask_new_contact")))
        return [SlotSet("form_note", None)]


class ActionSubmitContact(BorrowerAction):
    def name(self) -> str:
        return "action_submit_contact"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        new = str(tracker.get_slot("new_contact") or "")
        await client.create_case(channel, user_id, "contact_update", details=f"new contact: {new}")
        dispatcher.utter_message(text=say(lang, "case_contact_update"))
        return [SlotSet("new_contact", None), SlotSet("phone", None)]
