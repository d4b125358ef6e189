"""The hosted checkout through the API, on SQLite and PostgreSQL: links on the lender's checkout
page, the lender's signed webhook posting each payment once, and, with no provider at all
(production without the hosted checkout), one clear refusal instead of a link.

The loan (fixture `loan`): L1, 2,261.79 CNY due now on TODAY."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.payments.models import PaymentLink
from tests.backend import factories
from tests.backend.api.conftest import TODAY, TOKEN
from tests.backend.api.console_client import Console
from tests.backend.apps import app_over

SECRET = secrets.token_hex(32)
CHECKOUT = "https://pay.lender.example/checkout/{token}"
WEBHOOK = "/api/v1/payments/webhooks/hosted"


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    """The API tests' settings with the hosted checkout (the sandbox stays on beside it)."""
    return Settings(
        app_env="test",
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        service_token=TOKEN,
        business_date=TODAY,
        public_base_url="http://testserver",
        payment_checkout_url=CHECKOUT,
        payment_webhook_secret=SECRET,
    )


def make_link(client: TestClient, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/loans/L1/payment-links", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def event(link: dict, reference: str = "PSP-1") -> bytes:  # type: ignore[type-arg]
    return json.dumps(
        {
            "link": link["token"],
            "reference": reference,
            "amount_minor": int(link["amount"].replace(".", "")),
            "currency": link["currency"],
        }
    ).encode()


def signed(client: TestClient, body: bytes, provider: str = "hosted") -> dict[str, str]:
    """What the lender's payment service sends (its provider object signs as it must)."""
    sign = client.app.state.payment_providers[provider].sign  # type: ignore[attr-defined]
    return {"X-Signature": sign(body), "Content-Type": "application/json"}


def payments(client: TestClient) -> list[tuple[str, str, str]]:
    history = client.get("/api/v1/loans/L1/payments").json()
    return [(p["provider"], p["reference"], p["amount"]) for p in history]


class TestLinks:
    def test_a_new_link_is_on_the_lenders_checkout_page(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client)
        assert link["url"] == f"https://pay.lender.example/checkout/{link['token']}"
        assert (link["amount"], link["currency"], link["status"]) == ("2261.79", "CNY", "open")

    def test_the_sandbox_page_does_not_exist_for_it(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client)
        assert client.get(f"/pay/{link['token']}").status_code == 404
        assert client.post(f"/pay/{link['token']}", data={"csrf_token": "x"}).status_code == 404
        assert payments(client) == []

    def test_the_lenders_service_reads_what_to_charge(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        read = client.get(f"/api/v1/payment-links/{link['token']}")
        assert read.status_code == 200
        assert read.json() == {**link, "amount_minor": 25_000}
        body = event(link)
        client.post(WEBHOOK, content=body, headers=signed(client, body))
        assert client.get(f"/api/v1/payment-links/{link['token']}").json()["status"] == "paid"

    def test_reading_a_link_needs_the_service_token_and_a_real_token(
        self,
        client: TestClient,
        loan,  # type: ignore[no-untyped-def]
    ) -> None:
        link = make_link(client)
        anonymous = client.get(
            f"/api/v1/payment-links/{link['token']}", headers={"Authorization": ""}
        )
        assert anonymous.status_code == 401
        unknown = client.get("/api/v1/payment-links/no-such-link")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_link")


class TestWebhook:
    def test_a_signed_event_posts_the_payment_once(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        body = event(link)
        first = client.post(WEBHOOK, content=body, headers=signed(client, body))
        again = client.post(WEBHOOK, content=body, headers=signed(client, body))
        assert (first.status_code, first.json()) == (
            200,
            {"status": "posted", "reference": "PSP-1"},
        )
        assert (again.status_code, again.json()) == (
            200,
            {"status": "duplicate", "reference": "PSP-1"},
        )
        assert payments(client) == [("hosted", "PSP-1", "250.00")]
        balance = client.get("/api/v1/loans/L1/balance").json()
        assert balance["overdue_amount"] == "2011.79"

    def test_the_link_is_then_paid(self, client: TestClient, db: Session, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        body = event(link)
        client.post(WEBHOOK, content=body, headers=signed(client, body))
        paid = db.scalars(select(PaymentLink)).one()
        assert (paid.provider, paid.payment is not None) == ("hosted", True)

    @pytest.mark.parametrize("signature", ["0" * 64, "", "sandbox"])
    def test_a_wrong_signature_is_refused_and_nothing_posts(
        self,
        client: TestClient,
        loan,  # type: ignore[no-untyped-def]
        signature: str,
    ) -> None:
        link = make_link(client, amount="250")
        body = event(link)
        if signature == "sandbox":  # another provider's secret
            signature = signed(client, body, "sandbox")["X-Signature"]
        r = client.post(WEBHOOK, content=body, headers={"X-Signature": signature})
        assert (r.status_code, r.json()["code"]) == (422, "bad_signature")
        assert payments(client) == []

    def test_the_sandboxs_webhook_cannot_pay_a_hosted_link(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        body = event(link)
        r = client.post(
            "/api/v1/payments/webhooks/sandbox",
            content=body,
            headers=signed(client, body, "sandbox"),
        )
        assert (r.status_code, r.json()["code"]) == (422, "other_providers_link")
        assert payments(client) == []

    def test_an_amount_other_than_the_links_is_refused(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        body = event({**link, "amount": "249.99"})
        r = client.post(WEBHOOK, content=body, headers=signed(client, body))
        assert (r.status_code, r.json()["code"]) == (422, "amount_mismatch")
        assert payments(client) == []

    def test_one_reference_pays_one_link(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        first, second = make_link(client, amount="250"), make_link(client, amount="250")
        body = event(first)
        client.post(WEBHOOK, content=body, headers=signed(client, body))
        reused = event(second)  # the same reference and amount, for the other link
        r = client.post(WEBHOOK, content=reused, headers=signed(client, reused))
        assert (r.status_code, r.json()["code"]) == (409, "reference_used")
        third = event(make_link(client, amount="300"))  # the reference again, another amount
        r = client.post(WEBHOOK, content=third, headers=signed(client, third))
        assert (r.status_code, r.json()["code"]) == (409, "reference_used")
        other = event(first, reference="PSP-2")  # the first link again, another reference
        r = client.post(WEBHOOK, content=other, headers=signed(client, other))
        assert (r.status_code, r.json()["code"]) == (409, "link_already_paid")
        assert payments(client) == [("hosted", "PSP-1", "250.00")]

    def test_an_unknown_link_is_a_404(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        body = event({"token": "no-such-link", "amount": "250.00", "currency": "CNY"})
        r = client.post(WEBHOOK, content=body, headers=signed(client, body))
        assert (r.status_code, r.json()["code"]) == (404, "unknown_link")


REAL_TOKEN = secrets.token_hex(32)


class TestWithoutAnyProvider:
    """Production with the sandbox off and no hosted checkout: the backend starts, and every
    way of asking for a link gets the same clear refusal."""

    @pytest.fixture
    def settings(self, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
        return Settings(
            app_env="production",
            database_url=f"sqlite:///{tmp_path / 'unused.db'}",
            service_token=REAL_TOKEN,
            id_hash_key=secrets.token_hex(32),
            rasa_token=secrets.token_hex(32),
            business_date=TODAY,
            public_base_url="http://testserver",
        )

    @pytest.fixture
    def client(self, db: Session, settings: Settings) -> Iterator[TestClient]:
        app = app_over(db, settings)
        with TestClient(app, headers={"Authorization": f"Bearer {REAL_TOKEN}"}) as c:
            yield c

    def assert_unavailable(self, r) -> None:  # type: ignore[no-untyped-def]
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "payment_links_unavailable"
        assert "PAYMENT_CHECKOUT_URL" in r.json()["detail"]

    def test_staff_asking_for_a_link_are_told_why(
        self, client: TestClient, db: Session, loan
    ) -> None:  # type: ignore[no-untyped-def]
        assert client.app.state.payment_providers == {}  # type: ignore[attr-defined]
        for body in ({}, {"amount": "300"}, {"amount": "999999"}):
            self.assert_unavailable(client.post("/api/v1/loans/L1/payment-links", json=body))
        assert db.scalars(select(PaymentLink)).all() == []

    def test_the_borrowers_chat_is_told_why(self, client: TestClient, db: Session, loan) -> None:  # type: ignore[no-untyped-def]
        factories.conversation(db, who=loan.borrower, user_id="777")
        db.commit()
        chat = "/api/v1/conversations/telegram/777"
        self.assert_unavailable(client.post(f"{chat}/loans/L1/payment-links", json={}))
        # Still only the chat's own loans: another's is unknown before anything else.
        assert client.post(f"{chat}/loans/NOPE/payment-links", json={}).status_code == 404

    def test_a_collector_sees_why_on_the_chat_page(self, db: Session, open_console, loan) -> None:  # type: ignore[no-untyped-def]
        conversation = factories.conversation(db, who=loan.borrower, user_id="778")
        handoff = factories.handoff(db, conversation=conversation)
        db.commit()
        ann: Console = open_console("ann", "collector")
        ann.get("/console/inbox")
        ann.follow(ann.post(f"/console/handoffs/{handoff.id}/take"))
        sent = ann.post(f"/console/handoffs/{handoff.id}/payment-link", {"loan_ref": "L1"})
        assert sent.status_code == 409
        assert "payment links are unavailable" in sent.text
        assert db.scalars(select(PaymentLink)).all() == []
