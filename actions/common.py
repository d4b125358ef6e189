"""What every action shares: the conversation it acts for, the reply language, and one way to
meet a backend that is slow, down or refuses, so no borrower ever sees a stack trace."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions import request_ids
from actions.language import language_events, reply_language
from actions.messages import buttons, say

log = logging.getLogger(__name__)

Events = list[dict[str, Any]]


class BorrowerAction(Action, ABC):
    """An action for the borrower of this conversation. Subclasses implement `act`.

    An action that shows account details needs a verified chat: the backend answers 403
    `verification_required` on every call about the borrower's loans, and then the chat is asked
    to verify and the action runs again once it is. No call is made only to ask.
    """

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        channel, user_id = api.conversation_of(tracker.sender_id)
        lang = reply_language(tracker)
        events: Events = [*language_events(tracker, lang), SlotSet("misunderstood", 0)]
        if tracker.get_slot("offers_shown") and self.name() not in ABOUT_OFFERS:
            events.append(SlotSet("offers_shown", None))  # a "2" picks an offer just after them
        client = backend_for(tracker, self.name())
        said = len(dispatcher.messages)
        try:
            done = await self.act(dispatcher, tracker, client, channel, user_id, lang)
            return [*events, *done, *_listen_after_followup(tracker, done)]
        except api.VerificationRequired:
            del dispatcher.messages[said:]  # nothing of an unverified chat's account is shown
            dispatcher.utter_message(text=say(lang, "verify_intro"))
            return [*events, *remember_request(tracker, self.name())]
        except api.BackendUnavailable:
            log.warning("backend unavailable in %s", self.name())
            dispatcher.utter_message(
                text=say(lang, "backend_down"), buttons=buttons(lang, "/request_human")
            )
            return events
        except api.Refused as refused:  # not one the action expects: its English stays in the log
            log.warning("backend refused %s: %s", self.name(), refused)
            dispatcher.utter_message(
                text=say(lang, "refused"), buttons=buttons(lang, "/request_human")
            )
            return events
        finally:
            await client.aclose()

    @abstractmethod
    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        client: api.Backend,
        channel: str,
        user_id: str,
        lang: str,
    ) -> Events:
        raise NotImplementedError


def backend_for(tracker: Tracker, action: str) -> api.Backend:
    """The backend client of one run of `action`: its calls carry the message's request id, and
    its writes a key that makes the turn safe to run again (request_ids.once_key)."""
    return api.Backend(
        request_id=request_ids.of(tracker),
        once_key=request_ids.once_key(tracker.latest_message, tracker.events, action),
    )


async def is_verified(client: api.Backend, channel: str, user_id: str) -> bool:
    state = await client.upsert_conversation(channel, user_id)
    return bool(state.verified)


async def current_loan(
    client: api.Backend, channel: str, user_id: str, tracker: Tracker
) -> Any | None:
    """The loan the chat is about: the one named before, else the most overdue, else the first
    with something owed. None when nothing is owed."""
    loans = await client.loans(channel, user_id)
    wanted = tracker.get_slot("loan_ref")
    for loan in loans:
        if loan.loan_ref == wanted:
            return loan
    active = [loan for loan in loans if loan.status != "paid_off"]
    if not active:
        return None
    return max(active, key=lambda loan: (loan.dpd, loan.overdue_amount))


# The actions after which a bare number may still pick one of the offers just shown.
ABOUT_OFFERS = ("action_show_offers", "action_fallback", "action_accept_offer")

# Actions that hand the turn to another by a follow-up: a verifier to the request that waited
# for it, the fallback to the offer a bare "2" picked.
HANDS_OVER = ("action_verify_token", "action_after_verification", "action_fallback")


def _listen_after_followup(tracker: Tracker, done: Events) -> Events:
    """The action run as another's follow-up ends the turn. No rule follows a verifier with a
    request (any request may wait), nor the fallback with an offer, so without this Rasa's
    policies would guess the next action, and their fallback would undo the turn, the
    verification's end with it: the chat would be asked for its phone number again."""
    if tracker.latest_action_name not in HANDS_OVER:
        return []
    if any(event.get("event") == "followup" for event in done):  # it goes on (a form)
        return []
    return [FollowupAction("action_listen")]


def remember_request(tracker: Tracker, action_name: str) -> Events:
    """Verify first, then come back to this action with the intent that asked for it."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return [
        SlotSet("pending_action", action_name),
        SlotSet("pending_intent", intent),
        SlotSet("pending_text", tracker.latest_message.get("text")),
        FollowupAction("verification_form"),
    ]


def with_note(lang: str, tracker: Tracker, question: str) -> str:
    """A form's question, after why the last answer was not taken (the `form_note` a validation
    left): one message."""
    note = tracker.get_slot("form_note")
    if not note:
        return question
    return (
        say(lang, note) + ("" if lang == "zh" else " ") + question
    )  # no space between 中文 sentences


# What the latest message may be when the action answers a request made before verifying: the
# last answer to the verification's questions (a second factor, read as a bare answer).
_NOT_A_REQUEST = (None, "inform", "affirm", "deny", "nlu_fallback")


def _waited(tracker: Tracker) -> bool:
    latest = (tracker.latest_message.get("intent") or {}).get("name")
    return bool(tracker.get_slot("pending_intent")) and latest in _NOT_A_REQUEST


def latest_said(events: list[dict[str, Any]]) -> int:
    """The index of the latest user message in the events (-1: none)."""
    return max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)


def answered_verification(tracker: Tracker) -> bool:
    """Whether the latest message was an answer to the verification's questions (the form
    took it): its words are a phone number, an ID's digits or a birth date, not a request's."""
    events = tracker.events or []
    said = latest_said(events)
    return said >= 0 and any(
        e.get("event") == "action" and e.get("name") == "verification_form"
        for e in events[said + 1 :]
    )


def set_this_turn(tracker: Tracker, slot: str, taken: Any) -> Any:
    """`taken` for `slot`, unless a form took it from the latest message's entities: then what
    the actions of this turn set `slot` to before (None: nothing)."""
    said = [e.get("value") for e in tracker.latest_message.get("entities") or []]
    if taken not in said:
        return taken
    events = tracker.events or []
    values = [
        e.get("value")
        for e in events[latest_said(events) + 1 :]
        if e.get("event") == "slot" and e.get("name") == slot and e.get("value") != taken
    ]
    return values[-1] if values else None


def request_intent(tracker: Tracker) -> str | None:
    """The intent this action answers: the latest one, or the one that waited for verification."""
    if _waited(tracker):
        return str(tracker.get_slot("pending_intent"))
    return (tracker.latest_message.get("intent") or {}).get("name")


def request_text(tracker: Tracker) -> str:
    """The words of the request this action answers: the latest message's, or those of the one
    that waited for verification (never the verification's last answer: a second factor is
    not a case's details)."""
    if _waited(tracker):
        return str(tracker.get_slot("pending_text") or "")
    return str(tracker.latest_message.get("text") or "")
