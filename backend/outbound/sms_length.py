"""How many SMS segments a text takes, as the networks count them: GSM 03.38's 7-bit alphabet
when every character is in it (160 in one segment, 153 a segment when split, the extension
characters such as € costing two), else UCS-2 (70, then 67 a segment, counted in UTF-16 units:
an emoji costs two). A split never cuts an escape pair or a surrogate pair in half."""

from __future__ import annotations

from dataclasses import dataclass

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}  # a split message's header takes the rest


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: str  # gsm7 | ucs2
    units: int  # septets (gsm7) or UTF-16 code units (ucs2)
    segments: int


def _cost(char: str, encoding: str) -> int:
    if encoding == "gsm7":
        return 2 if char in _GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def encoding_of(text: str) -> str:
    gsm = all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text)
    return "gsm7" if gsm else "ucs2"


def measure(text: str) -> SmsLength:
    encoding = encoding_of(text)
    costs = [_cost(c, encoding) for c in text]
    units = sum(costs)
    if units <= SINGLE[encoding]:
        return SmsLength(encoding, units, 1 if text else 0)
    segments, used = 1, 0
    for cost in costs:  # a character that does not fit whole starts the next segment
        if used + cost > PART[encoding]:
            segments, used = segments + 1, 0
        used += cost
    return SmsLength(encoding, units, segments)
