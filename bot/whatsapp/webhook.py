"""Meta's calls to the gateway for WhatsApp: GET /whatsapp/webhook (the subscription check: the
verify token, echoing the challenge) and POST /whatsapp/webhook (messages and statuses, each
call signed with the app secret over the raw body: X-Hub-Signature-256). A call is answered at
once; its messages go through the relay in a task of their own, one chat's in order. A message
delivered again (Meta retries) is answered once. Statuses become the outbox's receipts (those of
the assistant's own replies, which never were in the outbox, are dropped)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from bot import texts
from bot.backend_client import BackendRefused, BackendUnavailable
from bot.dedupe import SeenUpdates
from bot.receipts import Receipt, forward_receipt
from bot.relay import Incoming, Relay
from bot.text_cleaning import clean
from bot.whatsapp.cloud_api import CloudApi, WhatsAppRefused
from bot.whatsapp.render import messages

log = logging.getLogger(__name__)
router = APIRouter(prefix="/whatsapp", include_in_schema=False)

CHANNEL = "whatsapp"
# How many of the assistant's own replies are remembered, to drop Meta's statuses for them.
REMEMBERED_REPLIES = 10_000
# Meta's statuses, in the outbox's receipts.
_RECEIPTS = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(header) and hmac.compare_digest(expected, header or "")


@dataclass(frozen=True, slots=True)
class WhatsAppMessage:
    wa_id: str  # the sender's number without +
    message_id: str  # wamid...
    kind: str  # text | button | other
    text: str  # typed text, or a button's payload
    shown: str | None  # a button's title
    sent_at: datetime | None


def read_call(payload: dict[str, Any]) -> tuple[list[WhatsAppMessage], list[dict[str, Any]]]:
    """The messages and statuses in one webhook call (anything else is ignored)."""
    found: list[WhatsAppMessage] = []
    statuses: list[dict[str, Any]] = []
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            statuses.extend(s for s in value.get("statuses") or [] if isinstance(s, dict))
            for m in value.get("messages") or []:
                if isinstance(m, dict) and m.get("from") and m.get("id"):
                    found.append(_message(m))
    return found, statuses


def _message(m: dict[str, Any]) -> WhatsAppMessage:
    kind, text, shown = "other", "", None
    if m.get("type") == "text":
        kind, text = "text", str((m.get("text") or {}).get("body", ""))
    elif m.get("type") == "interactive":
        interactive = m.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        kind, text, shown = "button", str(reply.get("id", "")), str(reply.get("title", ""))
    elif m.get("type") == "button":  # a template's quick reply
        button = m.get("button") or {}
        kind, text, shown = "button", str(button.get("payload", "")), str(button.get("text", ""))
    try:
        sent_at = datetime.fromtimestamp(int(m.get("timestamp", "")), UTC)
    except ValueError:
        sent_at = None
    return WhatsAppMessage(str(m["from"]), str(m["id"]), kind, clean(text), shown, sent_at)


class WhatsAppChannel:
    """What the gateway does with a call's contents."""

    def __init__(self, relay: Relay, api: CloudApi, seen: SeenUpdates) -> None:
        self.relay, self.api, self.seen = relay, api, seen
        # The assistant's own replies, sent here rather than through the outbox: Meta's
        # statuses for them have no outbox row to go to.
        self._replies: OrderedDict[str, None] = OrderedDict()
        self._chats: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[None]] = set()

    def take(self, found: list[WhatsAppMessage], statuses: list[dict[str, Any]]) -> None:
        for message in found:
            self._spawn(self._one(message))
        for status in statuses:
            self._spawn(self._status(status))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _one(self, message: WhatsAppMessage) -> None:
        key = f"{CHANNEL}:{message.message_id}"
        lock = self._chats.get(message.wa_id)
        if lock is None:
            lock = self._chats[message.wa_id] = asyncio.Lock()
        async with lock:  # a chat's messages in order, its replies too
            if await self.seen.handled(key):
                return
            try:
                await self._answer(message)
            except WhatsAppRefused as exc:
                log.warning("WhatsApp reply not sent (%s)", exc)
            except Exception:  # one message must not stop the others
                log.exception("WhatsApp message failed")
            await self.seen.remember(key)

    async def _answer(self, message: WhatsAppMessage) -> None:
        if message.kind == "other":  # a photo, a voice note, a location...
            language = await self._language_of(message.wa_id)
            body = messages(texts.say("text_only", language), [], language)[0]
            self._sent_reply(await self.api.send(message.wa_id, body))
            return
        outcome = await self.relay.handle(
            Incoming(
                channel=CHANNEL,
                user_id=message.wa_id,
                text=message.text,
                external_id=message.message_id,
                sent_at=message.sent_at,
                kind=message.kind,
                shown=message.shown,
            )
        )
        # A repeat that reaches the relay was never answered (the gateway that had it died
        # before remembering it): its replies go out now.
        for reply in outcome.replies:
            if not reply.text and not reply.buttons:  # a Telegram-only keyboard (share phone)
                continue
            for body in messages(reply.text, reply.buttons, outcome.language):
                self._sent_reply(await self.api.send(message.wa_id, body))

    def _sent_reply(self, wamid: str) -> None:
        self._replies[wamid] = None
        while len(self._replies) > REMEMBERED_REPLIES:
            self._replies.popitem(last=False)

    async def _language_of(self, wa_id: str) -> str:
        try:
            chat = await self.relay.backend.transcript(CHANNEL, wa_id, last=1)
        except (BackendUnavailable, BackendRefused):
            return "zh"
        return "en" if chat and texts.script_of(str(chat[-1].get("text", ""))) == "en" else "zh"

    async def _status(self, status: dict[str, Any]) -> None:
        receipt = _RECEIPTS.get(str(status.get("status", "")))
        if receipt is None or not status.get("id") or status["id"] in self._replies:
            return
        errors = status.get("errors") or []
        error = None
        if errors and isinstance(errors[0], dict):
            error = f"WhatsApp error {errors[0].get('code')}: {errors[0].get('title', '')}"
        await forward_receipt(
            self.relay.backend, CHANNEL, Receipt(str(status["id"]), receipt, error)
        )


@router.get("/webhook")
async def verify_subscription(
    request: Request,
    mode: str = Query("", alias="hub.mode"),
    token: str = Query("", alias="hub.verify_token"),
    challenge: str = Query("", alias="hub.challenge", max_length=200),
) -> Response:
    expected = request.app.state.settings.whatsapp_verify_token
    if mode == "subscribe" and expected and hmac.compare_digest(token, expected):
        return Response(challenge, media_type="text/plain")
    return Response(status_code=403)


@router.post("/webhook")
async def receive(request: Request) -> Response:
    body = await request.body()
    secret = request.app.state.settings.whatsapp_app_secret
    if not signature_ok(secret, body, request.headers.get("X-Hub-Signature-256")):
        log.warning("a WhatsApp webhook call without Meta's signature was refused")
        return Response(status_code=403)
    try:
        payload = json.loads(body)
    except ValueError:
        return Response("not JSON", status_code=400)
    if not isinstance(payload, dict):
        return Response("not a webhook call", status_code=400)
    channel: WhatsAppChannel = request.app.state.whatsapp
    channel.take(*read_call(payload))
    return Response(status_code=200)
