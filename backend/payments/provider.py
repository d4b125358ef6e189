"""What a payment provider does for us, and the built-in sandbox provider.

A real provider hosts the checkout and calls our webhook when money arrives. The sandbox does
the same on this machine: its checkout page is served by the backend, and paying there produces
a signed webhook event that goes through exactly the handler a real provider's webhook uses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Protocol


class InvalidEvent(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A provider's notice that money for a link was received."""

    link_token: str
    reference: str
    amount: int  # minor units
    currency: str


class PaymentProvider(Protocol):
    name: str

    def checkout_url(self, link_token: str) -> str: ...

    def parse_event(self, body: bytes, signature: str) -> PaymentEvent: ...


class SandboxProvider:
    name = "sandbox"

    def __init__(self, *, base_url: str, secret: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._secret = secret.encode()

    def checkout_url(self, link_token: str) -> str:
        return f"{self._base_url}/pay/{link_token}"

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def event_body(self, event: PaymentEvent) -> bytes:
        return json.dumps(
            {
                "link": event.link_token,
                "reference": event.reference,
                "amount_minor": event.amount,
                "currency": event.currency,
            },
            sort_keys=True,
        ).encode()

    def parse_event(self, body: bytes, signature: str) -> PaymentEvent:
        if not hmac.compare_digest(self.sign(body), signature):
            raise InvalidEvent("webhook signature does not match")
        try:
            data = json.loads(body)
            return PaymentEvent(
                link_token=str(data["link"]),
                reference=str(data["reference"]),
                amount=int(data["amount_minor"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidEvent(f"malformed webhook body: {exc}") from exc
