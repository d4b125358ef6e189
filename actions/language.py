"""Which language to answer in: an explicit choice sticks; otherwise the language the borrower
is writing in now; otherwise their profile's, then their app's; Chinese by default."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def script_of(text: str) -> str | None:
    """zh if the message has Chinese characters, en if it has English words, else None.
    Payloads ("/check_balance") and bare numbers say nothing about the language."""
    if not text or text.startswith("/"):
        return None
    if _HAN.search(text):
        return "zh"
    if _LATIN_WORD.search(text):
        return "en"
    return None


def channel_language(tracker: Tracker, key: str = "language") -> str | None:
    """What the channel knows (the gateway passes it as message metadata): the language of the
    borrower's app or web page (`language`), one they picked there (`language_choice`), or the
    language of the words the gateway replaced with a payload (`written_in`: an opt-out word
    in any form reaches the assistant as /stop_contact)."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return value if value in ("zh", "en") else None


def reply_language(tracker: Tracker, profile: str | None = None) -> str:
    current = tracker.get_slot("language")
    if tracker.get_slot("language_chosen") and current:
        return str(current)
    heard = script_of(tracker.latest_message.get("text") or "") or channel_language(
        tracker, "written_in"
    )
    return heard or current or profile or channel_language(tracker) or "zh"


def written_language(tracker: Tracker) -> str | None:
    """The language of the borrower's latest message that shows one: this one, else an earlier
    one ("4321" or a button's payload says nothing, the messages before it may)."""
    latest = tracker.latest_message or {}
    messages = [latest, *(e for e in reversed(tracker.events) if e.get("event") == "user")]
    for message in messages:
        metadata = message.get("metadata")
        lang = script_of(message.get("text") or "") or (
            metadata.get("written_in") if isinstance(metadata, dict) else None
        )
        if lang in ("zh", "en"):
            return lang
    return None


def verified_language(tracker: Tracker, profile: str | None) -> str:
    """The language once the borrower is known: a choice sticks, then the language they write
    in, and only then their profile's (a borrower on file as Chinese who writes English is
    answered in English)."""
    current = tracker.get_slot("language")
    if tracker.get_slot("language_chosen") and current:
        return str(current)
    return written_language(tracker) or profile or reply_language(tracker)


def language_events(tracker: Tracker, lang: str) -> list[dict[str, Any]]:
    return [SlotSet("language", lang)] if tracker.get_slot("language") != lang else []
