"""What SMS providers call back with: Twilio's inbound texts and status callbacks (each checked
against its X-Twilio-Signature), and the sandbox's page. A text in is logged in the borrower's
SMS conversation; "STOP" / "退订" opts them out of SMS (the backend's /inbound decides, as on
every channel), "START" / "开启提醒" back in; any other text gets one answer: this number reads
no replies, here is the chat. With the backend down a text waits in the gateway's spool."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from typing import Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from bot import texts
from bot.backend_client import BackendRefused, BackendUnavailable
from bot.clock import utcnow
from bot.receipts import forward_receipt
from bot.relay import Relay
from bot.sms.provider import Inbound
from bot.sms.sandbox import SandboxSms
from bot.sms.twilio_sms import TwilioSms, receipt_of

log = logging.getLogger(__name__)

twilio_router = APIRouter(prefix="/sms/twilio", include_in_schema=False)
sandbox_router = APIRouter(prefix="/sandbox/sms", include_in_schema=False)

CHANNEL = "sms"


# Texting one of these asks for texts again (the opt-out words are the backend's, compliance.yml).
OPT_IN_WORDS = frozenset({"start", "unstop", "开启提醒", "恢复提醒"})


def is_opt_in(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text).strip().strip(".!。！").casefold()
    return folded in OPT_IN_WORDS


async def answer(relay: Relay, webchat_url: str, text: Inbound) -> str | None:
    """Take a borrower's text; what to text back (None: a duplicate delivery, answered once).
    With the backend down the text is kept in the gateway's spool and goes in when it is back,
    a STOP in it acted on then: nothing the borrower says is lost."""
    backend = relay.backend
    try:
        result = await backend.inbound(
            CHANNEL, text.phone, text=text.text, external_id=text.message_id, sent_at=None,
            kind="text",
        )  # fmt: skip
    except BackendUnavailable as exc:
        log.warning("backend unavailable (%s); an SMS from a borrower kept", exc)
        kept = {"text": text.text, "external_id": text.message_id, "sent_at": utcnow().isoformat()}
        await relay.spool.keep_inbound(CHANNEL, text.phone, kept)
        return texts.say("sms_kept", texts.script_of(text.text)).format(link=webchat_url)
    if result.duplicate:
        return None
    language = result.language or texts.script_of(text.text)
    if result.opted_out:
        key = "sms_opted_out"
    elif is_opt_in(text.text):
        await backend.opt_in(CHANNEL, text.phone)
        key = "sms_opted_in"
    else:
        key = "sms_no_replies"
    return texts.say(key, language).format(link=webchat_url)


# -- Twilio -----------------------------------------------------------------------------------


async def _signed_form(request: Request) -> dict[str, str] | None:
    """The callback's form, if its signature is Twilio's for the address Twilio was given."""
    provider: TwilioSms = request.app.state.sms_provider
    form = {k: str(v) for k, v in (await request.form()).items()}
    public = request.app.state.settings.gateway_public_url.rstrip("/")
    url = public + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not provider.signed(url, form, request.headers.get("X-Twilio-Signature", "")):
        log.warning("a call to %s without Twilio's signature was refused", request.url.path)
        return None
    return form


def _twiml(reply: str | None) -> Response:
    body = f"<Message>{html.escape(reply)}</Message>" if reply else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        media_type="application/xml",
    )


@twilio_router.post("/inbound")
async def twilio_inbound(request: Request) -> Response:
    form = await _signed_form(request)
    if form is None:
        return Response(status_code=403)
    phone, sid = form.get("From", ""), form.get("MessageSid", "")
    if not phone or not sid:
        return Response("a text needs From and MessageSid", status_code=400)
    try:
        reply = await answer(
            request.app.state.relay,
            request.app.state.sms_webchat_url,
            Inbound(phone, form.get("Body", "")[:1600], sid),
        )
    except (BackendRefused, BackendUnavailable) as exc:  # refused; or down while opting in
        log.warning("SMS from a borrower refused (%s)", exc)
        return _twiml(None)
    return _twiml(reply)


@twilio_router.post("/status")
async def twilio_status(request: Request) -> Response:
    form = await _signed_form(request)
    if form is None:
        return Response(status_code=403)
    receipt = receipt_of(form)
    if receipt is not None:
        await forward_receipt(request.app.state.relay.backend, CHANNEL, receipt)
    return Response(status_code=204)


# -- the sandbox ------------------------------------------------------------------------------

_LINK = re.compile(r"https?://\S+")


def _with_links(text: str) -> str:
    escaped = html.escape(text)
    return _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


@sandbox_router.get("/texts")
async def sandbox_texts(request: Request) -> list[dict[str, Any]]:
    """The sandbox's texts, newest first."""
    provider: SandboxSms = request.app.state.sms_provider
    return [
        {
            "id": t.id,
            "phone": t.phone,
            "direction": t.direction,
            "text": t.text,
            "at": t.at.isoformat(),
            "receipt": t.receipt,
        }
        for t in provider.texts
    ]


@sandbox_router.get("", response_class=HTMLResponse)
async def sandbox_page(request: Request) -> HTMLResponse:
    provider: SandboxSms = request.app.state.sms_provider
    rows = "".join(
        f"<tr><td>{t.at:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(t.phone)}</td>"
        f"<td>{'→ phone' if t.direction == 'out' else '← phone'}</td>"
        f"<td class=text>{_with_links(t.text)}</td><td>{t.receipt or ''}</td>"
        f'<td><form method=post action="/sandbox/sms/reply">'
        f'<input type=hidden name=phone value="{html.escape(t.phone)}">'
        f'<input name=text placeholder="reply, e.g. STOP" required>'
        f"<button>Reply</button></form></td></tr>"
        for t in provider.texts
    )
    page = f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>SMS sandbox</title><style>
body{{font:14px system-ui,sans-serif;margin:1.5em}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}}
td.text{{max-width:40em;white-space:pre-wrap;word-break:break-all}}</style></head><body>
<h1>SMS sandbox</h1><p>Texts the assistant sent (nothing left this machine), newest first.
A link opens the web chat already linked to the borrower. Reply as the phone would, e.g.
STOP or 退订. Reload for new texts.</p>
<table><tr><th>When (UTC)</th><th>Number</th><th></th><th>Text</th><th>Receipt</th><th></th></tr>
{rows or "<tr><td colspan=6>No texts yet.</td></tr>"}</table></body></html>"""
    return HTMLResponse(
        page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@sandbox_router.post("/reply")
async def sandbox_reply(
    request: Request, phone: str = Form(max_length=20), text: str = Form(max_length=1600)
) -> Response:
    provider: SandboxSms = request.app.state.sms_provider
    came = provider.received(phone, text)
    try:
        reply = await answer(
            request.app.state.relay,
            request.app.state.sms_webchat_url,
            Inbound(phone, text, came.id),
        )
    except (BackendUnavailable, BackendRefused) as exc:
        reply = None
        provider.answered(phone, f"(the backend did not take it: {exc})")
    if reply:
        provider.answered(phone, reply)
    return RedirectResponse("/sandbox/sms", status_code=303)
