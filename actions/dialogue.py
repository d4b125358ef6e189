"""Greeting, language, distress and not understanding."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.balance import assistant_texts
from actions.common import BorrowerAction, Events, backend_for
from actions.language import channel_language, language_events, reply_language, script_of
from actions.messages import buttons, say
from actions.normalise import parse_choice


class ActionSetLanguage(Action):
    """Runs before fixed replies: answer in the language the borrower writes in."""

    def name(self) -> str:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        return [*language_events(tracker, reply_language(tracker)), SlotSet("misunderstood", 0)]


class ActionChangeLanguage(Action):
    """An explicit switch sticks: "English please" / "说中文"."""

    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        text = (tracker.latest_message.get("text") or "").lower()
        if picked := channel_language(tracker, "language_choice"):  # the page's language button
            lang = picked
        elif any(w in text for w in ("english", "英文", "英语")):
            lang = "en"
        elif any(w in text for w in ("中文", "chinese", "mandarin", "汉语", "普通话", "华语")):
            lang = "zh"
        else:  # "switch language" alone: the other one
            lang = (
                "en" if (tracker.get_slot("language") or script_of(text) or "zh") == "zh" else "zh"
            )
        dispatcher.utter_message(text=say(lang, "language_set"))
        channel, user_id = api.conversation_of(tracker.sender_id)
        client = backend_for(tracker, self.name())
        try:
            await client.upsert_conversation(channel, user_id, language=lang)
        except api.BackendUnavailable:
            pass  # the slot still holds the choice for this chat
        finally:
            await client.aclose()
        return [SlotSet("language", lang), SlotSet("language_chosen", True)]


class ActionGreet(BorrowerAction):
    def name(self) -> str:
        return "action_greet"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        state = await client.upsert_conversation(channel, user_id)
        events: Events = []
        if (
            state.language
            and not tracker.get_slot("language_chosen")
            and script_of(tracker.latest_message.get("text") or "") is None
        ):
            lang = state.language
            events.append(SlotSet("language", lang))
        dispatcher.utter_message(
            text=say(lang, "greet", name=""),
            buttons=buttons(
                lang, "/check_balance", "/make_payment", "/request_installment", "/request_human"
            ),
        )
        return [*events, SlotSet("verified", bool(state.verified))]


class ActionDistress(BorrowerAction):
    """Stop collecting, give help, and get a person at once."""

    def name(self) -> str:
        return "action_distress"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        dispatcher.utter_message(text=assistant_texts()["distress_help"][lang])
        await client.create_case(
            channel, user_id, "distress", details=tracker.latest_message.get("text") or ""
        )
        return [FollowupAction("action_handoff")]


class ActionFallback(BorrowerAction):
    """Not understood: ask again with options; twice in a row, a person takes over. A bare "2"
    or 第二个 just after offers were shown picks that offer, as its button would."""

    def name(self) -> str:
        return "action_fallback"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        shown = tracker.get_slot("offers_shown") or []
        picked = parse_choice(tracker.latest_message.get("text") or "", len(shown))
        if picked is not None:
            return [SlotSet("offer_id", shown[picked - 1]), FollowupAction("action_accept_offer")]
        count = int(tracker.get_slot("misunderstood") or 0) + 1
        if count >= 2:
            return [SlotSet("misunderstood", count), FollowupAction("action_handoff")]
        dispatcher.utter_message(
            text=say(lang, "not_understood"),
            buttons=buttons(
                lang, "/check_balance", "/make_payment", "/request_installment", "/request_human"
            ),
        )
        return [SlotSet("misunderstood", count)]
