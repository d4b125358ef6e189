"""The hosted checkout: the production payment provider, implemented by the lender's own payment
service (or an adapter in front of a PSP). The contract, also in the README ("Payments in
production"):

- Checkout: a borrower's link is PAYMENT_CHECKOUT_URL with `{token}` replaced by the link's
  token (URL-safe characters only); the lender's page looks the link up by it.
- Webhook: when money for a link arrives, the service POSTs to
  `/api/v1/payments/webhooks/hosted` the body the sandbox sends (`read_event`: link, reference,
  amount_minor, currency) with `X-Signature`, the hex HMAC-SHA256 of the raw body under
  PAYMENT_WEBHOOK_SECRET. Posting is idempotent on the reference (backend/payments/service.py).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from backend.payments.provider import PaymentEvent, check_signature, read_event, signature_of

NAME = "hosted"
PLACEHOLDER = "{token}"  # where the link's token goes in PAYMENT_CHECKOUT_URL


def checkout_url_problem(template: str, *, production: bool) -> str | None:
    """One line saying why PAYMENT_CHECKOUT_URL cannot be used (never its value), or None.
    Production wants https: the page takes the borrower's payment and the URL holds the token."""
    if template.count(PLACEHOLDER) != 1:
        return (
            f"PAYMENT_CHECKOUT_URL must contain {PLACEHOLDER} once, where the payment link's "
            f"token goes (e.g. https://pay.example.com/checkout/{PLACEHOLDER})"
        )
    url = template.replace(PLACEHOLDER, "t")
    if any(c.isspace() or not c.isprintable() for c in url):
        return "PAYMENT_CHECKOUT_URL has spaces or control characters in it"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        return "PAYMENT_CHECKOUT_URL is not an absolute http(s) URL with a host"
    if production and parts.scheme != "https":
        return "production refuses PAYMENT_CHECKOUT_URL: it is not https"
    return None


class HostedCheckoutProvider:
    name = NAME

    def __init__(self, *, checkout_url: str, secret: str) -> None:
        if PLACEHOLDER not in checkout_url:
            raise ValueError(f"the checkout URL template has no {PLACEHOLDER}")
        self._template = checkout_url
        self._secret = secret.encode()

    def checkout_url(self, link_token: str) -> str:
        # Tokens are URL-safe already; quoting keeps any other value from changing the URL.
        return self._template.replace(PLACEHOLDER, quote(link_token, safe=""))

    def sign(self, body: bytes) -> str:
        """What the lender's service puts in `X-Signature` (tests, and the README's example)."""
        return signature_of(self._secret, body)

    def parse_event(self, body: bytes, signature: str) -> PaymentEvent:
        check_signature(self._secret, body, signature)
        return read_event(body)
