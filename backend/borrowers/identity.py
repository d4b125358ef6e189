"""Pure rules for borrower identity data: phone numbers, ID numbers, masking."""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, default_region: str = "CN") -> str:
    """Any reasonable spelling of a phone number -> E.164 ("+8613800138000")."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_id_number(raw: str) -> str:
    """ID numbers compare without spaces or dashes and case-insensitively (the X check digit)."""
    return re.sub(r"[\s-]", "", raw).upper()


def hash_id_number(raw: str, key: str) -> str:
    """Keyed hash of an ID number: lets us match it without ever storing it."""
    return hmac.new(key.encode(), normalise_id_number(raw).encode(), hashlib.sha256).hexdigest()


def id_last4(raw: str) -> str:
    return normalise_id_number(raw)[-4:]


def mask_phone(e164: str) -> str:
    """+8613800138000 -> +86*******8000: enough for a person to recognise, no more."""
    if len(e164) <= 7:
        return "*" * len(e164)
    return e164[:3] + "*" * (len(e164) - 7) + e164[-4:]
