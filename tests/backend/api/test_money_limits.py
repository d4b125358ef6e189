"""Amounts beyond 32 bits, and amounts beyond anything accepted, everywhere an amount comes in:
payments, payment links (and the provider's webhook), promises, plans, the console's forms; on
SQLite and PostgreSQL.

L1 here is 50,000,000.00 CNY: 5,000,000,000 cents, more than the 32-bit columns money once had
held (they ended at 21,474,836.47), well within the 64-bit ones and the accepted maximum
(below money.AMOUNT_LIMIT, 10^12). On TODAY it is 45 days past due."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger.models import Arrangement
from backend.payments.models import PaymentLink
from backend.payments.provider import PaymentEvent, SandboxProvider
from backend.promises.models import Promise
from tests.backend import factories
from tests.backend.api.console_client import Console

BIG = 5_000_000_000  # minor units
CONV = "/api/v1/conversations/telegram/555"
TOO_LARGE = ["1000000000000", "999,999,999,999,999.99", "1" + "0" * 58]


@pytest.fixture
def big_loan(db: Session):  # type: ignore[no-untyped-def]
    made = factories.loan(db, principal=BIG)
    factories.conversation(db, who=made.borrower, user_id="555")  # the borrower's own chat
    db.commit()
    return made


class TestBeyond32Bits:
    def test_a_payment(self, client: TestClient, big_loan) -> None:  # type: ignore[no-untyped-def]
        r = client.post(
            "/api/v1/loans/L1/payments", json={"amount": "21474836.48", "reference": "BIG-1"}
        )
        assert r.status_code == 201, r.text
        listed = client.get("/api/v1/loans/L1/payments").json()
        assert [p["amount"] for p in listed] == ["21474836.48"]

    def test_a_payment_link_paid_through_the_webhook(self, client: TestClient, big_loan) -> None:  # type: ignore[no-untyped-def]
        link = client.post("/api/v1/loans/L1/payment-links", json={"amount": "30000000.00"})
        assert link.status_code == 201, link.text
        provider = client.app.state.payment_providers["sandbox"]  # type: ignore[attr-defined]
        assert isinstance(provider, SandboxProvider)
        body = provider.event_body(
            PaymentEvent(link.json()["token"], "PSP-BIG", 3_000_000_000, "CNY")
        )
        r = client.post(
            "/api/v1/payments/webhooks/sandbox",
            content=body,
            headers={"X-Signature": provider.sign(body)},
        )
        assert (r.status_code, r.json()["status"]) == (200, "posted")
        assert client.get("/api/v1/loans/L1/payments").json()[0]["amount"] == "30000000.00"

    def test_the_borrowers_own_payment_link(self, client: TestClient, big_loan) -> None:  # type: ignore[no-untyped-def]
        r = client.post(f"{CONV}/loans/L1/payment-links", json={"amount": "25000000.00"})
        assert (r.status_code, r.json().get("amount")) == (201, "25000000.00"), r.text

    def test_a_promise_of_the_payoff(self, client: TestClient, big_loan) -> None:  # type: ignore[no-untyped-def]
        payoff = client.get("/api/v1/loans/L1/promise-policy").json()["maximum_amount"]
        r = client.post(
            "/api/v1/loans/L1/promises", json={"amount": payoff, "promised_date": "2026-04-10"}
        )
        assert r.status_code == 201, r.text
        assert r.json()["amount"] == payoff
        assert client.get("/api/v1/loans/L1/promises").json()[0]["amount"] == payoff

    def test_a_plan(self, client: TestClient, db: Session, big_loan) -> None:  # type: ignore[no-untyped-def]
        offers = client.get("/api/v1/loans/L1/offers").json()["offers"]
        plan = next(o for o in offers if o["kind"] == "installment" and o["term_months"] == 6)
        r = client.post(
            "/api/v1/loans/L1/arrangements",
            json={"offer_id": plan["id"], "agreed_by": "collector:ann"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["arrangement"]["total"] == plan["total"]
        arrangement = db.scalars(select(Arrangement)).one()
        assert arrangement.settles_minor > 2**31


class TestBeyondTheMaximum:
    """422 with the usual `detail` and `code`, and nothing written; never a 500."""

    @pytest.mark.parametrize("amount", TOO_LARGE)
    @pytest.mark.parametrize(
        ("path", "fields"),
        [
            ("/api/v1/loans/L1/payments", {"reference": "R-1"}),
            ("/api/v1/loans/L1/payment-links", {}),
            (f"{CONV}/loans/L1/payment-links", {}),
            ("/api/v1/loans/L1/promises", {"promised_date": "2026-04-10"}),
            (f"{CONV}/loans/L1/promises", {"promised_date": "2026-04-10"}),
        ],
    )
    def test_is_refused(
        self,
        client: TestClient,
        db: Session,
        big_loan,  # type: ignore[no-untyped-def]
        path: str,
        fields: dict[str, str],
        amount: str,
    ) -> None:
        r = client.post(path, json={"amount": amount, **fields})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_request"
        assert "amount: the amount must be less than 1,000,000,000,000" in r.json()["detail"]
        assert client.get("/api/v1/loans/L1/payments").json() == []
        assert db.scalars(select(PaymentLink)).all() == []
        assert db.scalars(select(Promise)).all() == []


class TestTheConsolesForms:
    @pytest.fixture
    def big_chat(self, db: Session, open_console: Callable[..., Console]):  # type: ignore[no-untyped-def]
        """Ann has taken the chat of L-42's borrower (50,000,000.00 CNY, 45 days past due)."""
        ann = open_console("ann", "collector")
        who = factories.borrower(db, ref="B-42")
        factories.loan(db, ref="L-42", who=who, principal=BIG)
        handoff = factories.handoff(db, conversation=factories.conversation(db, who=who))
        db.commit()
        ann.get("/console/inbox")
        assert ann.post(f"/console/handoffs/{handoff.id}/take").status_code == 303
        return ann, handoff

    def test_a_payment_link_and_a_promise_beyond_32_bits(self, db: Session, big_chat) -> None:  # type: ignore[no-untyped-def]
        ann, chat = big_chat
        sent = ann.post(
            f"/console/handoffs/{chat.id}/payment-link",
            {"loan_ref": "L-42", "amount": "30,000,000.00"},
        )
        assert sent.status_code == 303, sent.text[:500]
        assert db.scalars(select(PaymentLink.amount_minor)).one() == 3_000_000_000
        promised = ann.post(
            f"/console/handoffs/{chat.id}/promise",
            {"loan_ref": "L-42", "amount": "25000000", "promised_date": "2026-04-10"},
        )
        assert promised.status_code == 303, promised.text[:500]
        assert db.scalars(select(Promise.amount_minor)).one() == 2_500_000_000

    @pytest.mark.parametrize(
        ("action", "fields"),
        [("payment-link", {}), ("promise", {"promised_date": "2026-04-10"})],
    )
    def test_an_amount_beyond_the_maximum_is_refused_on_the_page(
        self,
        db: Session,
        big_chat,  # type: ignore[no-untyped-def]
        action: str,
        fields: dict[str, str],
    ) -> None:
        ann, chat = big_chat
        refused = ann.post(
            f"/console/handoffs/{chat.id}/{action}",
            {"loan_ref": "L-42", "amount": "1" + "0" * 31, **fields},
        )
        assert refused.status_code == 422
        assert "Not done: the amount must be less than 1,000,000,000,000" in refused.text
        assert db.scalars(select(PaymentLink)).all() == []
        assert db.scalars(select(Promise)).all() == []
