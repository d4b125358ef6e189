"""Promise to pay as a form: the amount and the day, normalised in code and checked against
the backend's policy with a re-ask that says what is allowed, confirmed, then recorded once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import backend as api
from actions import request_ids
from actions.backend_types import parse
from actions.common import (
    BorrowerAction,
    Events,
    answered_verification,
    current_loan,
    request_text,
    set_this_turn,
    with_note,
)
from actions.language import reply_language
from actions.messages import buttons, say, why
from actions.normalise import (
    Span,
    amount_in,
    find_span,
    has_figure,
    parse_amount,
    parse_date,
    parse_date_in,
)

FORM_SLOTS = (
    "promise_amount",
    "promise_date",
    "promise_confirmed",
    "promise_policy",
    "promise_date_span",
    "form_note",
)


class ActionStartPromise(BorrowerAction):
    def name(self) -> str:
        return "action_start_promise"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan = await current_loan(client, channel, user_id, tracker)
        if loan is None:
            dispatcher.utter_message(text=say(lang, "no_loans"))
            return []
        kept = await client.promise_policy_json(channel, user_id, loan.loan_ref)
        policy = parse(api.PromisePolicy, kept)
        if policy.needs_person:  # promises were broken in a row: a person takes it from here
            return [
                SlotSet("loan_ref", loan.loan_ref),
                SlotSet("handoff_reason", "broken_promises"),
                FollowupAction("action_handoff"),
            ]
        if not policy.can_promise:  # a promise open, or nothing owed: said now, not once asked
            return refused_at_once(dispatcher, lang, policy)
        # What the first message already said ("两千五 下周五") fills the form straight away; a
        # form already open keeps what it has ("I want to set a date" said again halfway).
        open_form = tracker.active_loop.get("name") == "promise_form"
        said, said_day = amount_in(
            request_text(tracker), tracker.get_slot("amount"), _dates_said(tracker)
        )
        if isinstance(said_day, list):  # several days and no split amount: as the slot has it
            said_day = tracker.get_slot("date")
        amount = said or (tracker.get_slot("promise_amount") if open_form else None)
        day = said_day or (tracker.get_slot("promise_date") if open_form else None)
        span = None if day else find_span(tracker.latest_message.get("text") or "", policy.as_of)
        return [
            SlotSet("loan_ref", loan.loan_ref),
            SlotSet("promise_policy", kept),  # the form's steps read it there, not again
            SlotSet("promise_confirmed", None),
            SlotSet("promise_amount", amount),
            SlotSet("promise_date", day),
            SlotSet("promise_date_span", span.key if span else None),
            SlotSet("form_note", None),
            SlotSet("amount", None),
            SlotSet("date", None),
            FollowupAction("promise_form"),
        ]


def _dates_said(tracker: Tracker) -> Any:
    """The days the request named: every date entity of the latest message when it is the
    request (Rasa's slot keeps the last of several, and in "我下个月5号还3千5" that is the "3千"
    of the amount), else the slot."""
    latest = tracker.latest_message
    if request_text(tracker) == (latest.get("text") or ""):
        found = [e.get("value") for e in latest.get("entities") or [] if e.get("entity") == "date"]
        if len(found) > 1:
            return found
    return tracker.get_slot("date")


def refused_at_once(dispatcher: CollectingDispatcher, lang: str, policy: Any) -> Events:
    """Why no promise can be made on the loan today, before any question: the one still open
    (with a payment link to keep it), or nothing owed. The form is not started."""
    held = policy.open_promise
    params = (
        {}
        if held is None
        else {"amount": held.amount, "currency": held.currency, "promised_date": held.promised_date}
    )
    dispatcher.utter_message(
        text=why(lang, "promise_refused", policy.reason_code or "", params),
        buttons=buttons(lang, "/make_payment") if held is not None else None,
    )
    return [
        SlotSet("loan_ref", policy.loan_ref),
        SlotSet("amount", None),
        SlotSet("date", None),
        FollowupAction("action_listen"),  # the rule's form does not follow
    ]


def kept_policy(tracker: Tracker) -> api.PromisePolicy | None:
    """The policy action_start_promise kept for this form, if it is there and readable."""
    kept = tracker.get_slot("promise_policy")
    if kept is None:
        return None
    try:
        policy = parse(api.PromisePolicy, kept)
    except ValueError:
        return None
    return policy if policy.loan_ref == tracker.get_slot("loan_ref") else None


async def form_policy(tracker: Tracker, client: api.Backend | None = None) -> Any | None:
    """The form's policy: the one kept when it started, else the backend's (None when down)."""
    if (policy := kept_policy(tracker)) is not None:
        return policy
    channel, user_id = api.conversation_of(tracker.sender_id)
    if client is not None:
        return await client.promise_policy(channel, user_id, tracker.get_slot("loan_ref"))
    async with api.Backend(request_id=request_ids.of(tracker)) as own:
        try:
            return await own.promise_policy(channel, user_id, tracker.get_slot("loan_ref"))
        except api.BackendUnavailable:
            return None


def ask_amount(lang: str, policy: Any) -> str:
    """The question, with the minimum and what is overdue: a re-ask says what is allowed."""
    return say(
        lang,
        "ask_promise_amount",
        minimum=policy.minimum_amount,
        cur=policy.currency,
        overdue=policy.overdue_amount,
    )


def ask_date(lang: str, policy: Any, span: Span | None = None) -> str:
    """Which day; within the week or month the borrower named, when it overlaps the window."""
    if span is not None:
        first = max(span.first, policy.earliest_date)
        last = min(span.last, policy.latest_date)
        if first <= last:
            key = f"ask_promise_day_in_{span.kind}"
            return say(
                lang,
                key,
                which=say(lang, f"span.{span.kind}.{span.ahead}"),
                earliest=first,
                latest=last,
            )
    return say(lang, "ask_promise_date", earliest=policy.earliest_date, latest=policy.latest_date)


def given(value: Any) -> bool:
    """Whether the borrower gave a value: a slot cleared by an action (None, "") is not one,
    and is asked for without complaint."""
    return value is not None and str(value).strip() != ""


class ValidatePromiseForm(FormValidationAction):
    """A value that is unreadable or outside the policy is cleared with a short reason; the
    form then asks again, and the question itself states the minimum or the window. Only a
    value the borrower gave is complained about: action_start_promise clears the slots it has
    nothing for, and those are simply asked."""

    def name(self) -> str:
        return "validate_promise_form"

    async def validate_promise_amount(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if answered_verification(tracker):  # the request's own amount, not the answer's words
            value = set_this_turn(tracker, "promise_amount", value)
        else:  # 3千5 split by the NLU: the whole of it
            value, _ = amount_in(tracker.latest_message.get("text") or "", value, None)
        if not given(value) or not has_figure(str(value)):
            return {"promise_amount": None}  # "some", 一部分: no amount yet, simply asked
        amount = parse_amount(str(value))
        if amount is None:
            return {"promise_amount": None, "form_note": "bad_amount"}
        policy = await form_policy(tracker)
        if policy is not None:
            if amount < policy.minimum_amount:
                return {"promise_amount": None, "form_note": "amount_too_small"}
            if amount > policy.maximum_amount:  # said with the confirmation, not silently
                return {
                    "promise_amount": f"{policy.maximum_amount:.2f}",
                    "form_note": "amount_capped",
                }
        return {"promise_amount": f"{amount:.2f}"}

    async def validate_promise_date(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if answered_verification(tracker):  # a birth date is not the day of the promise
            value = set_this_turn(tracker, "promise_date", value)
        else:  # the "3千" of 3千5 is no day: the day this turn's actions read, if any
            _, day = amount_in(tracker.latest_message.get("text") or "", None, value)
            value = day if day is not None else set_this_turn(tracker, "promise_date", value)
        if not given(value):
            return {"promise_date": None}
        policy = await form_policy(tracker)
        if policy is None:
            dispatcher.utter_message(text=say(reply_language(tracker), "backend_down"))
            return {"promise_date": None}
        note = _first_note(tracker)
        span = Span.from_key(tracker.get_slot("promise_date_span") or "")
        day = (
            parse_date_in(str(value), span, policy.as_of)
            if span
            else parse_date(str(value), policy.as_of)
        )
        if day is None:
            return {"promise_date": None, **_without_a_day(str(value), policy, note)}
        if not policy.earliest_date <= day <= policy.latest_date:
            return {"promise_date": None, **note("date_outside_window")}
        return {"promise_date": day.isoformat(), "promise_date_span": None}


Note = Callable[[str], dict[str, Any]]


def _without_a_day(text: str, policy: Any, note: Note) -> dict[str, Any]:
    """A week or month named without its day is kept, and its day asked; anything else says
    why it was not taken."""
    named = find_span(text, policy.as_of)
    if named is None:
        return note("bad_date")
    if named.first <= policy.latest_date and named.last >= policy.earliest_date:
        return {"promise_date_span": named.key}
    return note("date_outside_window")  # the span is beyond the window


def _first_note(tracker: Tracker) -> Note:
    """A complaint about the day only when the amount had none this turn: one per message."""
    amount_note = tracker.get_slot("form_note") in ("bad_amount", "amount_too_small")

    def note(key: str) -> dict[str, Any]:
        return {} if amount_note else {"form_note": key}

    return note


class ActionAskPromiseAmount(BorrowerAction):
    def name(self) -> str:
        return "action_ask_promise_amount"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        policy = await form_policy(tracker, client)
        dispatcher.utter_message(text=with_note(lang, tracker, ask_amount(lang, policy)))
        return [SlotSet("form_note", None)]


class ActionAskPromiseDate(BorrowerAction):
    def name(self) -> str:
        return "action_ask_promise_date"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        policy = await form_policy(tracker, client)
        span = Span.from_key(tracker.get_slot("promise_date_span") or "")
        dispatcher.utter_message(text=with_note(lang, tracker, ask_date(lang, policy, span)))
        return [SlotSet("form_note", None)]


class ActionAskPromiseConfirmed(BorrowerAction):
    def name(self) -> str:
        return "action_ask_promise_confirmed"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        policy = await form_policy(tracker, client)
        question = say(
            lang,
            "confirm_promise",
            amount=tracker.get_slot("promise_amount"),
            cur=policy.currency,
            date=tracker.get_slot("promise_date"),
        )
        dispatcher.utter_message(
            text=with_note(lang, tracker, question), buttons=buttons(lang, "/affirm", "/deny")
        )
        return [SlotSet("form_note", None)]


class ActionSubmitPromise(BorrowerAction):
    def name(self) -> str:
        return "action_submit_promise"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        clear = [SlotSet(s, None) for s in FORM_SLOTS]
        if not tracker.get_slot("promise_confirmed"):
            dispatcher.utter_message(text=say(lang, "promise_cancelled"))
            return clear
        loan_ref = tracker.get_slot("loan_ref")
        amount = Decimal(str(tracker.get_slot("promise_amount")))
        day = date.fromisoformat(str(tracker.get_slot("promise_date")))
        try:
            promise = await client.create_promise(channel, user_id, loan_ref, amount, day)
        except api.Refused as refused:
            dispatcher.utter_message(
                text=why(lang, "promise_refused", refused.code, refused.params),
                buttons=buttons(lang, "/promise_to_pay", "/request_human"),
            )
            return clear
        dispatcher.utter_message(
            text=say(
                lang,
                "promise_recorded",
                amount=promise.amount,
                cur=promise.currency,
                date=promise.promised_date,
            ),
            buttons=buttons(lang, "/make_payment"),
        )
        return clear
