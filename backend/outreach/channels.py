"""Choosing the channel a reminder goes on (outreach.yml `channels`): the first rule of the
order that finds one, skipping a channel the borrower opted out of or their compliance profile
does not allow. Pure: the caller gathers the facts.

  recent_chat  a Telegram or web chat the borrower verified in and wrote in lately
  whatsapp     their verified WhatsApp chat, else the number on the lender's record on WhatsApp
  sms          the phone number on the lender's record
  linked_chat  a chat they verified in, however long ago"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# The chats recent_chat and linked_chat look at. WhatsApp has a rule of its own: outside 24
# hours of the borrower's last message only an approved template may go there.
REMINDER_CHATS = ("telegram", "webchat")


@dataclass(frozen=True, slots=True)
class Reach:
    """Where this borrower can be reached: their latest verified chat (its channel and when
    they last wrote in it), their phone number, and the channels they opted out of."""

    chat_channel: str | None
    chat_last_heard: datetime | None
    phone: str | None
    opted_out: frozenset[str] = frozenset()
    # The number is on the lender's record for another borrower too: a text could reach the
    # wrong person, so SMS is not used.
    phone_shared: bool = False
    # The WhatsApp id to write to (a verified WhatsApp chat's, else the number on record's),
    # or None and why not: "none", "not_allowed" (their profile does not list WhatsApp),
    # "shared_number", or "not_on_whatsapp" (a message to it came back undeliverable: the
    # number has no WhatsApp).
    whatsapp_id: str | None = None
    whatsapp_missing: str = "none"


@dataclass(frozen=True, slots=True)
class Tried:
    rule: str
    # chosen | none | not_recent | shared_number | not_on_whatsapp | opted_out | not_allowed
    outcome: str


@dataclass(frozen=True, slots=True)
class Choice:
    rule: str | None  # the rule that found the channel; None: no way to reach them
    channel: str | None
    tried: tuple[Tried, ...]


_CHANNEL_OF_SMS = "sms"
_WHATSAPP = "whatsapp"


def _candidate(rule: str, reach: Reach, now: datetime, recent: timedelta) -> tuple[str | None, str]:
    """The channel this rule would use, or None and why not."""
    if rule == _WHATSAPP:
        return (_WHATSAPP, "") if reach.whatsapp_id else (None, reach.whatsapp_missing)
    if rule == "sms":
        if not reach.phone:
            return None, "none"
        return (None, "shared_number") if reach.phone_shared else (_CHANNEL_OF_SMS, "")
    if reach.chat_channel is None:
        return None, "none"
    if rule == "recent_chat":
        heard = reach.chat_last_heard
        if heard is None or now - heard > recent:
            return None, "not_recent"
    return reach.chat_channel, ""


def choose(
    order: Sequence[str],
    reach: Reach,
    *,
    allowed: Collection[str],
    now: datetime,
    recent_days: int,
) -> Choice:
    tried: list[Tried] = []
    recent = timedelta(days=recent_days)
    for rule in order:
        channel, why = _candidate(rule, reach, now, recent)
        if channel is None:
            tried.append(Tried(rule, why))
        elif channel not in allowed:
            tried.append(Tried(rule, "not_allowed"))
        elif channel in reach.opted_out:
            tried.append(Tried(rule, "opted_out"))
        else:
            tried.append(Tried(rule, "chosen"))
            return Choice(rule, channel, tuple(tried))
    return Choice(None, None, tuple(tried))


def opted_out_channel(choice: Choice, reach: Reach) -> str | None:
    """With no channel left: one the borrower's own opt-out closed (the reminder is then
    dropped as an opt-out, on the record), else None (there was no way at all)."""
    for t in choice.tried:
        if t.outcome == "opted_out":
            if t.rule in (_CHANNEL_OF_SMS, _WHATSAPP):
                return t.rule
            return reach.chat_channel
    return None
