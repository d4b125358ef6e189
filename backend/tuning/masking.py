"""Personal data out of training examples: phone numbers, ID numbers and other long digit
runs are replaced before a borrower's words are written into version-controlled files. Pure."""

from __future__ import annotations

import re

import phonenumbers

# Chinese resident ID (18 characters, the last may be X; or the old 15 digits), then any other
# run of 7 or more digits (card and account numbers), possibly grouped with spaces or dashes.
_ID_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){6,}(?![0-9])")
REGIONS = ("CN", "SG", "GB", "US", "IN", "ID")
PLACEHOLDERS = ("[id]", "[phone]", "[number]")


def mask_personal(text: str) -> str:
    masked = _ID_NUMBER.sub("[id]", text)
    for region in REGIONS:
        found = [m for m in phonenumbers.PhoneNumberMatcher(masked, region)]
        for match in reversed(found):
            masked = masked[: match.start] + "[phone]" + masked[match.end :]
    return _LONG_DIGITS.sub("[number]", masked)


def training_text(text: str) -> str:
    """A borrower message as it is written into the training data: one line, masked."""
    return mask_personal(" ".join(text.split()))
