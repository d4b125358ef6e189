"""A fake of Twilio's Messages API (Twilio itself is unreachable here), served over real HTTP
so the `twilio` library talks to it as to Twilio: Basic auth with the account id and auth
token, a form-encoded message, Twilio's JSON answers and its error body. Some numbers misbehave
on purpose, after Twilio's own test numbers:

  +15005550001  invalid number: 400, code 21211 (sending again will not help)
  +15005550009  Twilio fails: 500
  +15005550010  too many requests: 429

It can also act as Twilio calling back: `status_callback` posts a signed status, `inbound`
a signed text from a phone, to the gateway."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import BasicAuth, web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FAILING = {
    "+15005550001": (400, 21211, "The 'To' number is not a valid phone number."),
    "+15005550009": (500, 20500, "Internal Server Error"),
    "+15005550010": (429, 20429, "Too Many Requests"),
}


@dataclass
class FakeTwilio:
    sent: list[dict[str, str]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self.server = TestServer(app)
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _create(self, request: web.Request) -> web.Response:
        auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        if (auth.login, auth.password) != (SID, AUTH_TOKEN) or request.match_info["sid"] != SID:
            return _error(401, 20003, "Authenticate")
        form = dict(await request.post())
        if form.get("To") in FAILING:
            return _error(*FAILING[str(form["To"])])
        sid = f"SM{next(self._ids):032d}"
        self.sent.append({k: str(v) for k, v in form.items()} | {"Sid": sid})
        body = {
            "sid": sid,
            "account_sid": SID,
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": "1",
        }
        return web.json_response(body, status=201)


def _error(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "status": status, "more_info": ""}
    return web.json_response(body, status=status)


def signed(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    """The X-Twilio-Signature Twilio would send with this form to this address."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


async def call_back(
    gateway: httpx.AsyncClient, public_url: str, path: str, form: dict[str, str]
) -> httpx.Response:
    """Post a form to the gateway as Twilio would, signed for its public address."""
    return await gateway.post(path, data=form, headers=signed(public_url + path, form))
