"""Replies as Telegram shows them: text within its 4,096-character limit, buttons as an inline
keyboard whose callback data (64 bytes at most) names the button by the reply that offered it
(its transcript id, or the id the gateway gave it before it was logged) and its position.
Pure."""

from __future__ import annotations

import re
from typing import Any

TELEGRAM_TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
_BUTTON_REF = re.compile(r"^m(\d{1,18})\.(\d{1,2})$")
_REPLY_REF = re.compile(r"^e([A-Za-z0-9:_-]{1,60})\.(\d{1,2})$")


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, a line, a sentence or a space
    when there is one in the second half of the piece."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for sep in ("\n\n", "\n", "。", ". ", "！", "？", " "):
            at = window.rfind(sep)
            if at >= limit // 2:
                cut = at + len(sep)
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def reply_ref(message_id: int | None, external_id: str | None) -> str | None:
    """How a button names its reply: by transcript id, else by the gateway's id for it."""
    if message_id is not None:
        return f"m{message_id}"
    if external_id is not None and _REPLY_REF.match(f"e{external_id}.0"):
        return f"e{external_id}"
    return None


def callback_data(ref: str | None, index: int, payload: str) -> str | None:
    """A short reference to the button; the payload itself only when the reply has no
    reference that fits. None: the button cannot be offered."""
    if ref is not None and len(data := f"{ref}.{index}") <= CALLBACK_DATA_LIMIT:
        return data
    data = "p" + payload
    return data if len(data.encode()) <= CALLBACK_DATA_LIMIT else None


def parse_callback(data: str) -> tuple[int | str, int] | str | None:
    """(the reply's transcript id or external id, button index), or a payload carried inline,
    or None if unreadable."""
    if match := _BUTTON_REF.match(data):
        return int(match.group(1)), int(match.group(2))
    if match := _REPLY_REF.match(data):
        return match.group(1), int(match.group(2))
    if data.startswith("p/"):
        return data[1:]
    return None


def keyboard_rows(buttons: list[dict[str, Any]], ref: str | None) -> list[list[tuple[str, str]]]:
    """(title, callback data) rows: two short buttons side by side, a long one alone."""
    cells = [
        (str(b["title"])[:64], data)
        for i, b in enumerate(buttons)
        if (data := callback_data(ref, i, str(b["payload"]))) is not None
    ]
    rows: list[list[tuple[str, str]]] = []
    for cell in cells:
        if rows and len(rows[-1]) == 1 and len(rows[-1][0][0]) <= 14 and len(cell[0]) <= 14:
            rows[-1].append(cell)
        else:
            rows.append([cell])
    return rows
