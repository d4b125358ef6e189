"""A fake of the WhatsApp Cloud API's messages endpoint (Meta's servers are unreachable here),
over real HTTP: the Bearer token, the phone number id in the path, Meta's answer and its error
body, and the 24-hour rule (a free-form message to someone who has not written within a day is
refused with 131047, as Meta refuses it). Some numbers misbehave on purpose:

  15005550001  not on WhatsApp: 400, 131026
  15005550009  Meta fails: 500
  15005550010  too many messages: 400, 130429

A template must be one Meta approved: by default those of config/whatsapp.yml (its name, each
language and its number of parameters); another name or language is refused with 132001, the
wrong number of parameters with 132000, as Meta refuses them.

`borrower_wrote` opens a number's window; `signed_call` makes a webhook call as Meta signs it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.config import ROOT

PHONE_NUMBER_ID = "109876543210"
ACCESS_TOKEN = "fake-whatsapp-access-token-0123456789"
APP_SECRET = "fake-whatsapp-app-secret-0123456789"
VERIFY_TOKEN = "fake-whatsapp-verify-token-0123"
FAILING = {
    "15005550001": (400, 131026, "Message undeliverable"),
    "15005550009": (500, 1, "An unknown error occurred"),
    "15005550010": (400, 130429, "Rate limit hit"),
}
DAY = 24 * 3600


def approved_templates() -> dict[tuple[str, str], int]:
    """(name, language code) -> its number of parameters, as config/whatsapp.yml says."""
    config = yaml.safe_load((ROOT / "config" / "whatsapp.yml").read_text(encoding="utf-8"))
    return {
        (name, config["languages"][lang]): len(t.get("params") or [])
        for name, t in config["templates"].items()
        for lang in t["body"]
    }


@dataclass
class FakeCloudApi:
    sent: list[dict[str, Any]] = field(default_factory=list)
    last_heard: dict[str, float] = field(default_factory=dict)
    approved: dict[tuple[str, str], int] = field(default_factory=approved_templates)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v21.0"))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v21.0/{phone_id}/messages", self._messages)
        self.server = TestServer(app)
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def borrower_wrote(self, wa_id: str, at: float | None = None) -> None:
        self.last_heard[wa_id] = time.time() if at is None else at

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return _error(401, 190, "Invalid OAuth access token")
        if request.match_info["phone_id"] != PHONE_NUMBER_ID:
            return _error(400, 100, "Unsupported post request")
        body = await request.json()
        to = str(body.get("to", ""))
        if body.get("messaging_product") != "whatsapp" or not to:
            return _error(400, 100, "Invalid parameter")
        if (refused := self._refused(to, body)) is not None:
            return refused
        wamid = f"wamid.FAKE{next(self._ids):010d}"
        self.sent.append(body | {"id": wamid})
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _refused(self, to: str, body: dict[str, Any]) -> web.Response | None:
        """Meta's refusal of a message to this number, if it would refuse it."""
        if to in FAILING:
            return _error(*FAILING[to])
        if body.get("type") == "template":
            return self._template_refused(body["template"])
        if time.time() - self.last_heard.get(to, 0) > DAY:
            return _error(400, 131047, "Re-engagement message")
        return None

    def _template_refused(self, template: dict[str, Any]) -> web.Response | None:
        key = (template.get("name"), (template.get("language") or {}).get("code"))
        if key not in self.approved:
            return _error(404, 132001, "Template name does not exist in the translation")
        given = [p for c in template.get("components", []) for p in c.get("parameters", [])]
        if len(given) != self.approved[key] or any(not p.get("text") for p in given):
            return _error(400, 132000, "Number of parameters does not match")
        return None

    def templates_to(self, wa_id: str) -> list[dict[str, Any]]:
        """The templates the number got: name, language and parameters."""
        return [
            {
                "name": m["template"]["name"],
                "language": m["template"]["language"]["code"],
                "params": [
                    p["text"] for c in m["template"].get("components", []) for p in c["parameters"]
                ],
            }
            for m in self.sent
            if m["to"] == wa_id and m["type"] == "template"
        ]

    def texts_to(self, wa_id: str) -> list[str]:
        """What the number got, as text: a message's body, an interactive message's body."""
        found = []
        for m in self.sent:
            if m["to"] != wa_id:
                continue
            if m["type"] == "text":
                found.append(m["text"]["body"])
            elif m["type"] == "interactive":
                found.append(m["interactive"]["body"]["text"])
        return found


def _error(status: int, code: int, message: str) -> web.Response:
    body = {"error": {"message": message, "type": "OAuthException", "code": code}}
    return web.json_response(body, status=status)


def call(
    *, messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
) -> bytes:
    """A webhook call's body as Meta sends it."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001234", "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages:
        value["messages"] = messages
        value["contacts"] = [
            {"profile": {"name": "Borrower"}, "wa_id": m["from"]} for m in messages
        ]
    if statuses:
        value["statuses"] = statuses
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def text_message(wa_id: str, body: str, wamid: str) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def signature(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
