"""What a payment provider does for us, and the built-in sandbox provider.

A real provider hosts the checkout and calls our webhook when money arrives (the hosted
checkout, backend/payments/hosted.py). The sandbox does the same on this machine: its checkout
page is served by the backend, and paying there produces a signed webhook event that goes
through exactly the handler a real provider's webhook uses. Both sign the same way: the
`X-Signature` header is the hex HMAC-SHA256 of the raw body under the provider's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Protocol

from backend.money import max_minor


class InvalidEvent(Exception):
    """A webhook call that is not a signed, well-formed event; `code` says which."""

    def __init__(self, message: str, *, code: str = "malformed_event") -> None:
        super().__init__(message)
        self.code = code


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
        return signature_of(self._secret, body)

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
        check_signature(self._secret, body, signature)
        return read_event(body)


_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")


def signature_of(secret: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 of the raw body: what the sender puts in `X-Signature`."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def check_signature(secret: bytes, body: bytes, signature: str) -> None:
    """Raise InvalidEvent (`bad_signature`) unless `signature` is the body's, in either case."""
    # The shape first: compare_digest cannot take a non-ASCII string (a TypeError).
    if not _SIGNATURE.fullmatch(signature):
        raise InvalidEvent(
            "the webhook signature is not 64 hexadecimal digits", code="bad_signature"
        )
    if not hmac.compare_digest(signature_of(secret, body), signature.lower()):
        raise InvalidEvent("the webhook signature does not match", code="bad_signature")


def read_event(body: bytes) -> PaymentEvent:
    """A signed event's body, refused whole unless every field is what the sender writes: a
    JSON object with the link and reference as strings, an ISO currency code, and the amount as
    a JSON integer of minor units within the accepted maximum (never a float, never 1e400)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 and huge integers are ValueErrors
        raise InvalidEvent("malformed webhook body: not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("malformed webhook body: not a JSON object")
    link, reference = data.get("link"), data.get("reference")
    amount, currency = data.get("amount_minor"), data.get("currency")
    if not isinstance(link, str) or not 0 < len(link) <= 64:
        raise InvalidEvent("malformed webhook body: link is not a payment link's token")
    if not isinstance(reference, str) or not 0 < len(reference.strip()) <= 128:
        raise InvalidEvent("malformed webhook body: reference is not 1 to 128 characters")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise InvalidEvent("malformed webhook body: currency is not an ISO 4217 code")
    if type(amount) is not int or not 0 < amount <= max_minor(currency):
        raise InvalidEvent(
            "malformed webhook body: amount_minor is not a whole number of minor units "
            "between 1 and the largest amount accepted"
        )
    return PaymentEvent(link_token=link, reference=reference, amount=amount, currency=currency)
