"""Twilio: texts out through its Messages API (the `twilio` library), its status callbacks and
inbound texts checked against their X-Twilio-Signature. `api_base_url` points the library at
another server (the fake one the tests run); leave it unset for Twilio."""

from __future__ import annotations

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.sms.provider import Receipt, SmsRefused

SEND_TIMEOUT_SECONDS = 15
# Twilio's MessageStatus, in the backend's receipts (sent, delivered, failed); the rest say
# nothing new (accepted, queued, sending: it was taken, which the delivery already recorded).
_RECEIPTS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}
# 400: the request itself is wrong for this message (an invalid or unsubscribed number):
# sending it again will not help. Anything else (401 while credentials are fixed, 429, 5xx)
# may pass later.
_FINAL_STATUSES = frozenset({400, 404})


class TwilioSms:
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str,
        api_base_url: str | None = None,
    ) -> None:
        http = AsyncTwilioHttpClient(pool_connections=False)
        http.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS)
        )
        self._http = http
        self._client = Client(account_sid, auth_token, http_client=http)
        if api_base_url:
            self._client.api.base_url = api_base_url.rstrip("/")
        # A Messaging Service id (MG...) lets Twilio pick the number; else a number of ours.
        self._from = (
            {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
        )
        self._status_callback = status_callback
        self.validator = RequestValidator(auth_token)

    async def send(self, to: str, text: str) -> str:
        try:
            message = await self._client.messages.create_async(
                to=to, body=text, status_callback=self._status_callback, **self._from
            )
        except TwilioRestException as exc:
            raise SmsRefused(
                f"{exc.status} {exc.code}: {exc.msg}",
                final=exc.status in _FINAL_STATUSES,
                retry_after=60 if exc.status == 429 else None,
            ) from exc
        except (aiohttp.ClientError, TimeoutError, TwilioException) as exc:
            raise SmsRefused(f"not reachable ({type(exc).__name__})", final=False) from exc
        return str(message.sid)  # Twilio always gives a created message its id

    def signed(self, url: str, form: dict[str, str], signature: str) -> bool:
        return bool(self.validator.validate(url, form, signature))

    async def aclose(self) -> None:
        await self._http.close()


def receipt_of(form: dict[str, str]) -> Receipt | None:
    """A status callback as a receipt; None for the statuses that say nothing new."""
    receipt = _RECEIPTS.get(form.get("MessageStatus", ""))
    sid = form.get("MessageSid", "")
    if receipt is None or not sid:
        return None
    code = form.get("ErrorCode")
    return Receipt(sid, receipt, f"Twilio error {code}" if code else None)
