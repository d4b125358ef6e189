"""The sandbox WhatsApp's page, /sandbox/whatsapp: every number's messages (templates with their
parameters, the assistant's replies with their buttons), a box to write back as the phone
would, and the buttons to press. /sandbox/whatsapp/messages gives the same as JSON."""

from __future__ import annotations

import html
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.whatsapp.sandbox import SandboxMessage, SandboxWhatsApp

router = APIRouter(prefix="/sandbox/whatsapp", include_in_schema=False)


def _sandbox(request: Request) -> SandboxWhatsApp:
    sandbox: SandboxWhatsApp = request.app.state.whatsapp_sandbox
    return sandbox


def _as_json(m: SandboxMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "wa_id": m.wa_id,
        "direction": m.direction,
        "kind": m.kind,
        "text": m.text,
        "buttons": [{"id": i, "title": t} for i, t in m.buttons],
        "template": m.template,
        "at": m.at.isoformat(),
        "status": m.status,
    }


@router.get("/messages")
async def sandbox_messages(request: Request) -> list[dict[str, Any]]:
    """The sandbox's messages, newest first."""
    return [_as_json(m) for m in _sandbox(request).messages]


def _bubble(m: SandboxMessage) -> str:
    who = "in" if m.direction == "in" else "out"
    if m.template is not None:
        params = " · ".join(html.escape(p) for p in m.template["params"]) or "no parameters"
        body = (
            f"<b>template {html.escape(m.template['name'])}</b> "
            f"({html.escape(m.template['language'])})<br>{params}"
        )
    else:
        body = html.escape(m.text)
    buttons = "".join(
        f'<form method=post action="/sandbox/whatsapp/reply" class=press>'
        f'<input type=hidden name=wa_id value="{html.escape(m.wa_id)}">'
        f'<input type=hidden name=button_id value="{html.escape(i)}">'
        f'<input type=hidden name=text value="{html.escape(t)}">'
        f"<button>{html.escape(t)}</button></form>"
        for i, t in m.buttons
    )
    status = f" · {m.status}" if m.status else ""
    return (
        f'<div class="msg {who}"><div class=body>{body}</div>{buttons}'
        f"<small>{m.at:%H:%M:%S}{status}</small></div>"
    )


@router.get("", response_class=HTMLResponse)
async def sandbox_page(request: Request) -> HTMLResponse:
    found = sorted(_sandbox(request).messages, key=lambda m: (m.wa_id, m.at))
    chats = []
    for wa_id, messages in groupby(found, key=lambda m: m.wa_id):
        bubbles = "".join(_bubble(m) for m in messages)
        chats.append(
            f"<section><h2>+{html.escape(wa_id)}</h2>{bubbles}"
            f'<form method=post action="/sandbox/whatsapp/reply">'
            f'<input type=hidden name=wa_id value="{html.escape(wa_id)}">'
            f'<input name=text placeholder="write as the phone, e.g. 你好 or STOP" required>'
            f"<button>Send</button></form></section>"
        )
    page = f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>WhatsApp sandbox</title><style>
body{{font:14px system-ui,sans-serif;margin:1.5em;max-width:48em}}
section{{border:1px solid #ddd;border-radius:8px;padding:.5em 1em;margin-bottom:1.5em}}
.msg{{margin:.4em 0;padding:.5em .7em;border-radius:8px;max-width:80%;white-space:pre-wrap}}
.out{{background:#f0f0f0}}.in{{background:#dcf8c6;margin-left:auto}}
.press{{display:inline}}small{{display:block;color:#777}}</style></head><body>
<h1>WhatsApp sandbox</h1><p>What the assistant sent on WhatsApp (nothing left this machine),
by number, and what the phone wrote back. A template shows its name and parameters (the phone
shows its approved body, config/whatsapp.yml). Write or press a button as the phone would:
it reaches the gateway's webhook signed as Meta signs it. Reload for new messages.</p>
{"".join(chats) or "<p>No messages yet.</p>"}</body></html>"""
    return HTMLResponse(
        page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.post("/reply")
async def sandbox_reply(
    request: Request,
    wa_id: str = Form(min_length=5, max_length=20, pattern=r"^\d+$"),
    text: str = Form(min_length=1, max_length=4096),
    button_id: str = Form("", max_length=256),
) -> Response:
    """A message as from the phone: typed, or a pressed button (its id, its title as text)."""
    button = (button_id, text) if button_id else None
    await _sandbox(request).phone_sends(wa_id, text=text, button=button)
    return RedirectResponse("/sandbox/whatsapp", status_code=303)
