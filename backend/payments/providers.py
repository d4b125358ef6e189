"""Which payment providers a backend runs, from its settings, and the one new links are made
with: the hosted checkout when it is configured, else the sandbox when it is on, else none, and
then a link is refused with one clear code (`payment_links_unavailable`) the assistant words for
the borrower. Links made earlier keep the provider they were made with, for its webhook."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from backend.config import Settings
from backend.errors import Conflict
from backend.payments.hosted import HostedCheckoutProvider
from backend.payments.provider import PaymentProvider, SandboxProvider

log = logging.getLogger(__name__)

UNAVAILABLE = "payment_links_unavailable"


def payment_providers(settings: Settings) -> tuple[dict[str, PaymentProvider], str | None]:
    """The providers by name, and the name of the one for new links (None: no links)."""
    providers: dict[str, PaymentProvider] = {}
    if settings.hosted_payments:
        hosted = HostedCheckoutProvider(
            checkout_url=settings.payment_checkout_url, secret=settings.payment_webhook_secret
        )
        providers[hosted.name] = hosted
    if settings.sandbox_payments:
        sandbox = SandboxProvider(
            base_url=settings.public_base_url, secret=settings.sandbox_webhook_secret
        )
        providers[sandbox.name] = sandbox
    default = next(iter(providers), None)  # hosted first
    if default is None:
        log.warning(
            "no payment provider: payment links are unavailable until PAYMENT_CHECKOUT_URL "
            "and PAYMENT_WEBHOOK_SECRET are set"
        )
    return providers, default


def for_new_links(providers: Mapping[str, PaymentProvider], default: str | None) -> PaymentProvider:
    """The provider a new link is made with, or a 409 `payment_links_unavailable`."""
    if default is None or default not in providers:
        raise Conflict(
            "payment links are unavailable: no payment provider is configured "
            "(PAYMENT_CHECKOUT_URL and PAYMENT_WEBHOOK_SECRET)",
            code=UNAVAILABLE,
        )
    return providers[default]
