"""The sandbox WhatsApp for development, in the gateway itself: it stands in for Meta's Cloud API
(an httpx transport under the real `CloudApi`: nothing leaves the machine) and for the
borrower's phone (the page in `sandbox_routes`). WhatsApp's 24-hour rule holds as Meta applies
it: a free-form message to a number that has not written for a day is refused (131047), a
template goes at any time. Each message sent is "delivered" a moment later, and what the phone
sends comes in through the gateway's own webhook, signed as Meta signs it: the sandbox runs
the same code as the real channel from the webhook on."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

SANDBOX_PHONE_NUMBER_ID = "sandbox"
KEEP = 300
STATUS_AFTER_SECONDS = 0.5
WINDOW = timedelta(hours=24)


@dataclass(slots=True)
class SandboxMessage:
    id: str
    wa_id: str
    direction: str  # out (to the phone) | in (from it)
    kind: str  # text | interactive | template | button (a pressed button)
    text: str  # a text's body, an interactive message's body, a template's name
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (id, title) to press
    template: dict[str, Any] | None = None  # name, language and parameters
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str | None = None  # delivered, once Meta would say so


def _error(status: int, code: int, message: str) -> httpx.Response:
    body = {"error": {"message": message, "type": "OAuthException", "code": code}}
    return httpx.Response(status, json=body)


class SandboxWhatsApp(httpx.AsyncBaseTransport):
    name = "sandbox"

    def __init__(self) -> None:
        self.messages: deque[SandboxMessage] = deque(maxlen=KEEP)
        self.last_heard: dict[str, datetime] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the gateway: how a webhook call reaches it (signed, as Meta's).
        self.webhook: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def _new_id(self) -> str:
        return f"wamid.SANDBOX{next(self._ids):08d}"

    # -- the Cloud API's side ------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/messages"):
            return _error(404, 100, "Unknown path")
        try:
            body = json.loads(await request.aread())
            to, kind = str(body["to"]), str(body["type"])
        except (ValueError, KeyError, TypeError):
            return _error(400, 100, "Invalid parameter")
        if kind != "template" and not self._window_open(to):
            return _error(
                400, 131047, "Re-engagement message: more than 24 hours since the customer wrote"
            )
        sent = self._record(to, kind, body)
        if sent is None:
            return _error(400, 100, f"Unsupported message type {kind!r}")
        self._spawn(self._status_later(sent))
        return httpx.Response(200, json={"messages": [{"id": sent.id}]})

    def _window_open(self, wa_id: str) -> bool:
        last = self.last_heard.get(wa_id)
        return last is not None and datetime.now(UTC) - last < WINDOW

    def _record(self, to: str, kind: str, body: dict[str, Any]) -> SandboxMessage | None:
        message: SandboxMessage
        if kind == "text":
            message = SandboxMessage(self._new_id(), to, "out", kind, body["text"]["body"])
        elif kind == "interactive":
            part = body["interactive"]
            action = part["action"]
            choices = (
                [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons", [])]
                if part["type"] == "button"
                else [(r["id"], r["title"]) for s in action["sections"] for r in s["rows"]]
            )
            text = part["body"]["text"]
            message = SandboxMessage(self._new_id(), to, "out", kind, text, choices)
        elif kind == "template":
            t = body["template"]
            params = [p["text"] for c in t.get("components", []) for p in c.get("parameters", [])]
            shown = {"name": t["name"], "language": t["language"]["code"], "params": params}
            message = SandboxMessage(self._new_id(), to, "out", kind, t["name"], template=shown)
        else:
            return None
        self.messages.appendleft(message)
        return message

    async def _status_later(self, sent: SandboxMessage) -> None:
        await asyncio.sleep(STATUS_AFTER_SECONDS)
        sent.status = "delivered"
        status = {
            "id": sent.id,
            "status": "delivered",
            "timestamp": str(int(datetime.now(UTC).timestamp())),
            "recipient_id": sent.wa_id,
        }
        await self._call({"statuses": [status]})

    # -- the phone's side ----------------------------------------------------------------------

    async def phone_sends(
        self, wa_id: str, *, text: str = "", button: tuple[str, str] | None = None
    ) -> SandboxMessage:
        """A message from the phone: typed text, or a pressed button (its id and title)."""
        now = datetime.now(UTC)
        came = SandboxMessage(
            self._new_id(),
            wa_id,
            "in",
            "button" if button else "text",
            button[1] if button else text,
        )
        self.messages.appendleft(came)
        self.last_heard[wa_id] = now
        message: dict[str, Any] = {
            "from": wa_id,
            "id": came.id,
            "timestamp": str(int(now.timestamp())),
        }
        if button is not None:
            reply = {"id": button[0], "title": button[1]}
            message |= {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": reply},
            }
        else:
            message |= {"type": "text", "text": {"body": text}}
        await self._call({"contacts": [{"wa_id": wa_id}], "messages": [message]})
        return came

    async def _call(self, value: dict[str, Any]) -> None:
        if self.webhook is None:
            return
        change = {"field": "messages", "value": {"messaging_product": "whatsapp", **value}}
        await self.webhook(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "sandbox", "changes": [change]}],
            }
        )

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
