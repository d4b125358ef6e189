"""Channel commands and the assistant's payloads as the assistant understands them, the same on
every channel. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# The gateway's own commands, as payloads of the assistant's intents (nlu/INTENTS.md).
COMMANDS = {
    "/help": "/greet",
    "/language": "/change_language",
    "/human": "/request_human",
    "/stop": "/stop_contact",
}
# The intents and entities of the assistant's domain (nlu/domain/base.yml) a payload may name,
# as Rasa reads one: "/affirm", '/choose_offer{"offer_id": "..."}'. A plain Rasa REST client
# or widget sends a button's payload like that, with no title. Not verify_token or
# share_contact, nor the token and phone entities: the gateway alone makes those, from
# `/start <token>` and from Telegram's own contact button, so a typed payload cannot pose as
# either. tests/bot/unit/test_commands_and_texts.py keeps these in step with the domain.
PAYLOAD_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "bot_challenge",
        "scam_concern",
        "wrong_person",
        "check_balance",
        "check_due_date",
        "payment_history",
        "make_payment",
        "promise_to_pay",
        "request_installment",
        "request_extension",
        "request_settlement",
        "report_hardship",
        "distress",
        "dispute_debt",
        "already_paid",
        "request_human",
        "complaint",
        "stop_contact",
        "ask_fees",
        "ask_consequences",
        "update_contact",
        "change_language",
        "inform",
        "out_of_scope",
        "choose_offer",
    }
)
PAYLOAD_ENTITIES = frozenset({"amount", "date", "term_months", "offer_id"})
GATEWAY_ONLY_INTENTS = frozenset({"verify_token", "share_contact"})

_COMMAND = re.compile(r"^(/[A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)
_PAYLOAD = re.compile(r"^/([A-Za-z_][A-Za-z0-9_]*)(?:@[A-Za-z]\w*)?(\{.*\})?$", re.S)
_SLASHES = re.compile(r"^[/\s]+")  # "/ verify_token", "//verify_token": Rasa reads a name
_NAMED = re.compile(r"^[A-Za-z_]")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Translated:
    to_rasa: str | None  # None: not a command or payload the assistant takes
    logged: str  # what the transcript shows (never a link token or a phone number)


def translate(text: str) -> Translated:
    """A command to its payload, an assistant payload to itself (its entities as Rasa reads
    them), any other text unchanged. `/start <token>` verifies with the one-time link token;
    `/start` alone greets. A payload naming an intent or entity the assistant never offers,
    or one only the gateway may make, is refused (and a token or phone in it never logged).

    Rasa reads any message starting with "/" as an intent, the name stripped of spaces:
    "/ verify_token{...}" is verify_token to it. So the slash and any spaces after it (or
    further slashes) are read here the same way: a name after them is a command or payload,
    taken or refused; anything else ("/ 我想还款") is the words, without the slash."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return Translated(text, text)
    words = _SLASHES.sub("", stripped)
    if not _NAMED.match(words):
        return Translated(words or None, text)
    normal = "/" + words
    command = _COMMAND.match(normal)
    if command is not None and (known := _command(command)) is not None:
        return known
    if (payload := _PAYLOAD.match(normal)) is not None:
        return _payload(payload.group(1), payload.group(2), normal)
    # Anything else that starts like a command (Rasa would read it as an intent) is not one;
    # only its name is logged (what follows might be a token or a phone number).
    shown = "/" + _NOT_NAME.split(words, maxsplit=1)[0]
    return Translated(None, shown if normal == shown else f"{shown} (refused)")


def _command(match: re.Match[str]) -> Translated | None:
    """One of the gateway's own commands; None for any other."""
    name, argument = match.group(1).lower(), (match.group(2) or "").strip()
    if name == "/start":
        if argument and _TOKEN.match(argument):
            payload = "/verify_token" + json.dumps({"token": argument})
            return Translated(payload, "/start (link token)")
        return Translated("/greet", "/start")
    if name in COMMANDS:
        return Translated(COMMANDS[name], name)
    if name.removeprefix("/") in GATEWAY_ONLY_INTENTS:
        return Translated(None, f"{name} (refused)")
    return None


def _payload(intent: str, entities: str | None, text: str) -> Translated:
    if intent in GATEWAY_ONLY_INTENTS:
        return Translated(None, f"/{intent} (refused)")
    read = _entities(entities) if intent in PAYLOAD_INTENTS else None
    if read is None:
        return Translated(None, f"/{intent}{{...}}" if entities else text)
    canonical = f"/{intent}" + (json.dumps(read, ensure_ascii=False) if read else "")
    return Translated(canonical, canonical)


def _entities(text: str | None) -> dict[str, Any] | None:
    """The JSON object after the intent: entity names of the domain with plain values. None
    when it is not one; {} when there is none."""
    if not text:
        return {}
    try:
        read = json.loads(text)
    except ValueError:
        return None
    if not isinstance(read, dict):
        return None
    for name, value in read.items():
        plain = isinstance(value, str | int | float) and not isinstance(value, bool)
        if name not in PAYLOAD_ENTITIES or not plain or len(str(value)) > 200:
            return None
    return read


def contact_payload(phone: str) -> str:
    return "/share_contact" + json.dumps({"phone": phone})


def masked_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"shared phone number ****{digits[-4:]}" if len(digits) >= 4 else "shared phone number"
