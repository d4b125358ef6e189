"""The hosted checkout provider (backend/payments/hosted.py), its settings, and which provider
new links are made with. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import pytest
from pydantic import ValidationError

from backend.config import Settings
from backend.config_rules import setting_problems
from backend.errors import Conflict
from backend.payments.hosted import HostedCheckoutProvider, checkout_url_problem
from backend.payments.provider import InvalidEvent, PaymentEvent, SandboxProvider
from backend.payments.providers import for_new_links, payment_providers

SECRET = secrets.token_hex(32)
CHECKOUT = "https://pay.lender.example/checkout/{token}?channel=chat"
REAL = {name: secrets.token_hex(32) for name in ("service_token", "id_hash_key", "rasa_token")}
BODY = json.dumps(
    {"link": "tok-1", "reference": "PSP-9", "amount_minor": 25_000, "currency": "CNY"}
).encode()


def provider() -> HostedCheckoutProvider:
    return HostedCheckoutProvider(checkout_url=CHECKOUT, secret=SECRET)


def problems(**settings: object) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        Settings(**settings)  # type: ignore[arg-type]
    return setting_problems(refused.value.errors())


class TestCheckoutUrl:
    def test_the_token_takes_the_placeholders_place(self) -> None:
        assert provider().checkout_url("Ab_-9") == (
            "https://pay.lender.example/checkout/Ab_-9?channel=chat"
        )

    def test_a_token_cannot_change_the_url(self) -> None:
        assert provider().checkout_url("a/b?c") == (
            "https://pay.lender.example/checkout/a%2Fb%3Fc?channel=chat"
        )

    def test_a_template_without_the_placeholder_is_refused(self) -> None:
        with pytest.raises(ValueError, match="token"):
            HostedCheckoutProvider(checkout_url="https://pay.example.com/", secret=SECRET)


class TestSignature:
    def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body(self) -> None:
        expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
        assert provider().sign(BODY) == expected

    def test_a_signed_event_is_read(self) -> None:
        for signature in (provider().sign(BODY), provider().sign(BODY).upper()):
            assert provider().parse_event(BODY, signature) == PaymentEvent(
                "tok-1", "PSP-9", 25_000, "CNY"
            )

    @pytest.mark.parametrize(
        "signature",
        [
            pytest.param("", id="none"),
            pytest.param("0" * 64, id="zeros"),
            pytest.param("not hex", id="not-hex"),
            pytest.param(hmac.new(b"another", BODY, hashlib.sha256).hexdigest(), id="other-key"),
            pytest.param(
                SandboxProvider(base_url="http://x", secret="dev-sandbox-webhook-secret").sign(
                    BODY
                ),
                id="the-sandboxs",
            ),
        ],
    )
    def test_a_bad_signature_is_refused(self, signature: str) -> None:
        with pytest.raises(InvalidEvent) as refused:
            provider().parse_event(BODY, signature)
        assert refused.value.code == "bad_signature"

    def test_a_changed_body_is_refused(self) -> None:
        signature = provider().sign(BODY)
        with pytest.raises(InvalidEvent, match="does not match"):
            provider().parse_event(BODY.replace(b"25000", b"2500000"), signature)


class TestCheckoutUrlRule:
    @pytest.mark.parametrize(
        "template",
        [
            "https://pay.example.com/checkout",  # no token
            "https://pay.example.com/{token}/{token}",  # twice
            "/checkout/{token}",  # no host
            "ftp://pay.example.com/{token}",
            "https://pay.example.com/check out/{token}",
            "https://[::1/{token}",  # not a URL at all
        ],
    )
    def test_a_template_the_borrower_cannot_open_is_refused_everywhere(self, template: str) -> None:
        for production in (False, True):
            assert checkout_url_problem(template, production=production)

    def test_production_wants_https(self) -> None:
        template = "http://pay.example.com/{token}"
        assert checkout_url_problem(template, production=False) is None
        assert checkout_url_problem(template, production=True) == (
            "production refuses PAYMENT_CHECKOUT_URL: it is not https"
        )
        assert checkout_url_problem(CHECKOUT, production=True) is None


class TestSettings:
    def test_production_starts_with_the_hosted_checkout(self) -> None:
        s = Settings(
            app_env="production",
            **REAL,
            payment_checkout_url=CHECKOUT,
            payment_webhook_secret=SECRET,
        )
        assert s.hosted_payments and s.sandbox_payments is False

    @pytest.mark.parametrize(
        "weak", ["", "dev-payment-webhook-secret", "short", "webhookwebhooksecret"]
    )
    def test_production_refuses_a_weak_webhook_secret(self, weak: str) -> None:
        lines = problems(
            app_env="production",
            **REAL,
            payment_checkout_url=CHECKOUT,
            payment_webhook_secret=weak,
        )
        assert lines and all("PAYMENT_WEBHOOK_SECRET" in line for line in lines)

    def test_production_refuses_an_http_checkout_url(self) -> None:
        assert problems(
            app_env="production",
            **REAL,
            payment_checkout_url="http://pay.lender.example/{token}",
            payment_webhook_secret=SECRET,
        ) == ["production refuses PAYMENT_CHECKOUT_URL: it is not https"]

    def test_one_without_the_other_is_refused_everywhere(self) -> None:
        for app_env in ("development", "production"):
            base = REAL if app_env == "production" else {}
            for half in ({"payment_checkout_url": CHECKOUT}, {"payment_webhook_secret": SECRET}):
                assert problems(app_env=app_env, **base, **half) == [
                    "PAYMENT_CHECKOUT_URL and PAYMENT_WEBHOOK_SECRET go together: set both for "
                    "the hosted checkout, or neither"
                ]

    def test_development_takes_an_http_url_and_any_secret(self) -> None:
        s = Settings(
            payment_checkout_url="http://127.0.0.1:9000/pay/{token}", payment_webhook_secret="x"
        )
        assert s.hosted_payments and s.sandbox_payments is True


class TestWhichProvider:
    def test_the_hosted_checkout_when_set_even_beside_the_sandbox(self) -> None:
        s = Settings(payment_checkout_url=CHECKOUT, payment_webhook_secret=SECRET)
        providers, default = payment_providers(s)
        assert (sorted(providers), default) == (["hosted", "sandbox"], "hosted")
        assert isinstance(for_new_links(providers, default), HostedCheckoutProvider)

    def test_the_sandbox_when_no_hosted_checkout(self) -> None:
        providers, default = payment_providers(Settings(app_env="test"))
        assert (list(providers), default) == (["sandbox"], "sandbox")

    def test_none_in_production_without_the_hosted_checkout(self) -> None:
        providers, default = payment_providers(Settings(app_env="production", **REAL))
        assert (providers, default) == ({}, None)
        with pytest.raises(Conflict) as refused:
            for_new_links(providers, default)
        assert (refused.value.status_code, refused.value.code) == (409, "payment_links_unavailable")
