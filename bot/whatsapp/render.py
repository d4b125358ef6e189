"""Replies as WhatsApp shows them (pure): text within 4,096 characters; up to 3 buttons as
reply buttons (titles of 20 characters at most), more as a list (up to 10 rows, titles of 24,
the rest of a long title in the row's description). A button carries its payload as its id
(256 characters at most): one whose payload does not fit is left out. An approved template
goes as its name, language and parameters."""

from __future__ import annotations

from typing import Any

from bot.render import split_text

TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # an interactive message's body
BUTTON_TITLE = 20
ROW_TITLE = 24
ROW_DESCRIPTION = 72
ID_LIMIT = 200
MAX_BUTTONS = 3
MAX_ROWS = 10
LIST_LABEL = {"zh": "选择", "en": "Choose"}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def messages(text: str, buttons: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """The Cloud API message bodies (without `to`) for one reply, in order."""
    usable = [b for b in buttons if len(str(b.get("payload", ""))) <= ID_LIMIT][:MAX_ROWS]
    pieces = split_text(text or "…", TEXT_LIMIT)
    if not usable:
        return [_text(p) for p in pieces]
    # The buttons go with the last piece, as its body: a long last piece goes before as text.
    last = pieces.pop()
    if len(last) > BODY_LIMIT:
        pieces.append(last)
        last = "👇"
    out = [_text(p) for p in pieces]
    if len(usable) <= MAX_BUTTONS:
        action: dict[str, Any] = {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {
                        "id": str(b["payload"]),
                        "title": _cut(str(b["title"]), BUTTON_TITLE),
                    },
                }
                for b in usable
            ]
        }
        kind = "button"
    else:
        rows = []
        for b in usable:
            title = str(b["title"])
            row = {"id": str(b["payload"]), "title": _cut(title, ROW_TITLE)}
            if len(title) > ROW_TITLE:
                row["description"] = _cut(title, ROW_DESCRIPTION)
            rows.append(row)
        action = {"button": LIST_LABEL.get(language, "选择"), "sections": [{"rows": rows}]}
        kind = "list"
    out.append(
        {
            "type": "interactive",
            "interactive": {"type": kind, "body": {"text": last}, "action": action},
        }
    )
    return out


def template(t: dict[str, Any]) -> dict[str, Any]:
    """An approved template message: its name, language and body parameters, in order."""
    message: dict[str, Any] = {"name": str(t["name"]), "language": {"code": str(t["language"])}}
    params = [str(p) for p in t.get("params") or []]
    if params:
        message["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        ]
    return {"type": "template", "template": message}


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": False}}
