"""Right-party verification: a link token from `/start <token>`, or the registered phone
number plus the last 4 ID characters or the date of birth. Nothing about any debt is said
before it succeeds, and someone who is not the borrower is told nothing at all."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import backend as api
from actions.common import BorrowerAction, Events, backend_for, is_verified, latest_said
from actions.language import language_events, reply_language, verified_language
from actions.messages import buttons, say

log = logging.getLogger(__name__)


def _after_success(result: Any, tracker: Tracker, dispatcher: CollectingDispatcher) -> Events:
    lang = verified_language(tracker, result.language)
    dispatcher.utter_message(text=say(lang, "verified", name=result.first_name or ""))
    return [*language_events(tracker, lang), SlotSet("verified", True)]


def _end_verification_form(tracker: Tracker) -> Events:
    """A link token settled it while the phone questions were open: close them."""
    if tracker.active_loop.get("name") != "verification_form":
        return []
    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("phone", None),
        SlotSet("second_factor", None),
    ]


class ActionVerifyToken(BorrowerAction):
    """`/start <token>`, also while the phone questions are open (the form does not take the
    payload as a phone number): every invalid link is said so once, then the question that
    was pending (or the first one) is asked once.

    The token itself never reaches the assistant (it would stay in Rasa's tracker): Rasa's
    REST channel redeems it with the backend and passes on the backend's answer as message
    metadata (nlu/channels.py). A "verified" there is checked with the backend all the same."""

    def name(self) -> str:
        return "action_verify_token"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        result = link_verification(tracker)
        status = result.status if result is not None else "failed"
        if status == "unavailable":
            raise api.BackendUnavailable("link token not redeemed")
        if status == "refused":
            raise api.Refused(400, "refused", "link token refused by the backend")
        if status == "verified" and not await is_verified(client, channel, user_id):
            status = "failed"
        if result is not None and status == "verified":
            events = _after_success(result, tracker, dispatcher)
            pending = tracker.get_slot("pending_action")
            follow = [FollowupAction(pending), SlotSet("pending_action", None)] if pending else []
            return [*events, *_end_verification_form(tracker), SlotSet("token", None), *follow]
        if status == "locked":
            dispatcher.utter_message(
                text=say(lang, "verify_locked"), buttons=buttons(lang, "/request_human")
            )
            return [*_end_verification_form(tracker), SlotSet("token", None)]
        dispatcher.utter_message(text=say(lang, "token_failed"))
        return [SlotSet("token", None), FollowupAction("verification_form")]


def link_verification(tracker: Tracker) -> api.Verification | None:
    """The backend's answer to the link token, as Rasa's REST channel put it in the message's
    metadata; None without one."""
    metadata = tracker.latest_message.get("metadata") or {}
    answer = metadata.get("link_verification") if isinstance(metadata, dict) else None
    if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
        return None
    attempts = answer.get("attempts_left")
    return api.Verification(
        status=answer["status"],
        attempts_left=attempts if isinstance(attempts, int) else 0,
        locked_until=None,
        offer_human=answer["status"] == "locked",
        language=answer.get("language") if isinstance(answer.get("language"), str) else None,
        first_name=answer.get("first_name") if isinstance(answer.get("first_name"), str) else None,
    )


class ActionShareContact(BorrowerAction):
    """The channel shared the borrower's phone number (Telegram's contact button)."""

    def name(self) -> str:
        return "action_share_contact"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        return [FollowupAction("verification_form")]


class ActionAskPhone(BorrowerAction):
    def name(self) -> str:
        return "action_ask_phone"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        # Channels that can (Telegram) offer a "share my phone number" button with it.
        dispatcher.utter_message(
            text=say(lang, "ask_phone"), json_message={"request_contact": True}
        )
        return []


class ActionAskSecondFactor(BorrowerAction):
    def name(self) -> str:
        return "action_ask_second_factor"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        dispatcher.utter_message(text=say(lang, "ask_second_factor"))
        return []


STOPPED = "-"  # fills the form's slots when it must end (locked, or backend down)
# Filled from any message's entities (the domain's mappings) and read by the request that waits
# for verification ("我下周五还两千" fills amount and date before it is asked for a phone). An
# answer to the verification's questions fills nothing of that: a birth date given as the
# second factor is not the day of a promise, nor "4321" an amount.
REQUEST_SLOTS = ("amount", "date", "term_months")


def requests_kept(tracker: Tracker) -> dict[str, Any]:
    """The request slots the latest message set, back to what they held before it."""
    events = tracker.events or []
    said = latest_said(events)
    if said < 0:
        return {}
    kept: dict[str, Any] = {}
    for event in events[said + 1 :]:
        name = event.get("name")
        if event.get("event") == "slot" and name in REQUEST_SLOTS and name not in kept:
            kept[name] = next(
                (
                    e.get("value")
                    for e in reversed(events[:said])
                    if e.get("event") == "slot" and e.get("name") == name
                ),
                None,
            )
    return kept


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def validate_phone(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if value is None:  # cleared by an action, not given: the form asks
            return {}
        digits = "".join(ch for ch in str(value) if ch.isdigit() or ch == "+")
        if len(digits.lstrip("+")) < 7:
            # What was wrong; the form then asks the question once.
            dispatcher.utter_message(text=say(reply_language(tracker), "bad_phone"))
            return {"phone": None, **requests_kept(tracker)}
        return {"phone": digits, **requests_kept(tracker)}

    async def validate_second_factor(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if value is None:  # cleared by an action, not given: the form asks
            return {}
        return {**await self._second_factor(value, dispatcher, tracker), **requests_kept(tracker)}

    async def _second_factor(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        lang = reply_language(tracker)
        channel, user_id = api.conversation_of(tracker.sender_id)
        client = backend_for(tracker, self.name())
        try:
            result = await client.verify_phone(
                channel, user_id, str(tracker.get_slot("phone") or ""), str(value)
            )
        except api.BackendUnavailable:
            dispatcher.utter_message(
                text=say(lang, "backend_down"), buttons=buttons(lang, "/request_human")
            )
            return {"phone": STOPPED, "second_factor": STOPPED}
        except api.Refused as refused:
            return _refused(refused, dispatcher, lang)
        finally:
            await client.aclose()
        if result.status == "verified":
            lang = verified_language(tracker, result.language)
            dispatcher.utter_message(text=say(lang, "verified", name=result.first_name or ""))
            return {
                "second_factor": STOPPED,
                "phone": STOPPED,
                "verified": True,
                "language": lang,
            }
        if result.status == "locked":
            dispatcher.utter_message(
                text=say(lang, "verify_locked"), buttons=buttons(lang, "/request_human")
            )
            return {"phone": STOPPED, "second_factor": STOPPED}
        dispatcher.utter_message(text=say(lang, "verify_failed", attempts=result.attempts_left))
        return {"phone": None, "second_factor": None}


def _refused(refused: api.Refused, dispatcher: CollectingDispatcher, lang: str) -> dict[str, Any]:
    """An unreadable phone or second factor (422) is not an attempt: what could not be read is
    asked again. Any other refusal (401, 404, 409, 429...) is not the borrower's doing: said
    honestly, as every action says it, and the questions end."""
    if refused.status != 422:
        log.warning("verification refused: %s", refused)
        dispatcher.utter_message(text=say(lang, "refused"), buttons=buttons(lang, "/request_human"))
        return {"phone": STOPPED, "second_factor": STOPPED}
    log.info("verification unreadable: %s", refused.code)
    if _about(refused, "phone"):
        dispatcher.utter_message(text=say(lang, "bad_phone"))
        return {"phone": None, "second_factor": None}
    dispatcher.utter_message(text=say(lang, "verify_failed_unread"))
    return {"second_factor": None}


def _about(refused: api.Refused, field: str) -> bool:
    """Whether a 422 names this field of the request: its detail is "where: what; ..."
    (backend/request_errors.py), "phone: String should have at most 40 characters"."""
    return any(part.split(":", 1)[0].strip() == field for part in refused.message.split(";"))


class ActionAfterVerification(BorrowerAction):
    """Forget what was typed for verification, then do what the borrower first asked."""

    def name(self) -> str:
        return "action_after_verification"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        events: Events = [SlotSet("phone", None), SlotSet("second_factor", None)]
        pending = tracker.get_slot("pending_action")
        if tracker.get_slot("verified") and pending:
            return [*events, SlotSet("pending_action", None), FollowupAction(pending)]
        return [*events, SlotSet("pending_action", None)]


class ActionWrongPerson(BorrowerAction):
    def name(self) -> str:
        return "action_wrong_person"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        await client.report_wrong_person(
            channel, user_id, note=tracker.latest_message.get("text") or ""
        )
        dispatcher.utter_message(text=say(lang, "wrong_person"))
        return [
            SlotSet("verified", False),
            SlotSet("loan_ref", None),
            SlotSet("pending_action", None),
        ]
