"""Channel commands as the assistant understands them, the same on every channel. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Payloads of INTENTS.md: Rasa reads "/intent" as that intent with full confidence.
COMMANDS = {
    "/help": "/greet",
    "/language": "/change_language",
    "/human": "/request_human",
    "/stop": "/stop_contact",
}
_COMMAND = re.compile(r"^(/[A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Translated:
    to_rasa: str | None  # None: not a command the assistant knows
    logged: str  # what the transcript shows (never a link token)


def translate(text: str) -> Translated:
    """A command to its payload; any other text unchanged. `/start <token>` verifies with the
    one-time link token; `/start` alone greets."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return Translated(text, text)
    command, argument = match.group(1).lower(), (match.group(2) or "").strip()
    if command == "/start":
        if argument and _TOKEN.match(argument):
            payload = "/verify_token" + json.dumps({"token": argument})
            return Translated(payload, "/start (link token)")
        return Translated("/greet", "/start")
    if command in COMMANDS:
        return Translated(COMMANDS[command], command)
    return Translated(None, text)


def contact_payload(phone: str) -> str:
    return "/share_contact" + json.dumps({"phone": phone})


def masked_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"shared phone number ****{digits[-4:]}" if len(digits) >= 4 else "shared phone number"
