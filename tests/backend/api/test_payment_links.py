"""The whole pay loop on one machine: link -> sandbox checkout -> webhook path -> ledger."""

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.backend import factories


def make_link(client: TestClient, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/loans/L1/payment-links", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


class TestCreatingLinks:
    def test_defaults_to_what_is_due_now(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client)
        assert (link["amount"], link["currency"], link["status"]) == ("2261.79", "CNY", "open")
        assert link["url"] == f"http://testserver/pay/{link['token']}"

    def test_a_chosen_amount(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        assert make_link(client, amount="300")["amount"] == "300.00"

    def test_more_than_the_payoff_is_refused(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        r = client.post("/api/v1/loans/L1/payment-links", json={"amount": "20000"})
        assert r.status_code == 422
        assert "more than the payoff amount 12415.33" in r.json()["detail"]
        assert (r.json()["code"], r.json()["params"]) == (
            "amount_above_payoff",
            {"amount": "20000.00", "payoff": "12415.33", "currency": "CNY"},
        )

    def test_a_paid_off_loan_has_nothing_to_pay(
        self, client: TestClient, db: Session, loan
    ) -> None:  # type: ignore[no-untyped-def]
        factories.payment(db, loan, 1_241_533, loan.disbursed_on.replace(month=4, day=1), "X")
        db.commit()
        r = client.post("/api/v1/loans/L1/payment-links", json={})
        assert (r.status_code, r.json()["code"]) == (409, "nothing_to_pay")


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pay(client: TestClient, token: str, **headers: str):  # type: ignore[no-untyped-def]
    """Press the page's button: the form's token (and the cookie the page set) go along."""
    page = client.get(f"/pay/{token}")
    form = _CSRF.search(page.text)
    assert form, page.text
    return client.post(f"/pay/{token}", data={"csrf_token": form.group(1)}, headers=headers)


class TestSandboxCheckout:
    def test_paying_on_the_checkout_page_posts_the_payment(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="1137.48")
        page = client.get(f"/pay/{link['token']}")
        assert page.status_code == 200
        assert "1137.48 CNY" in page.text and 'lang="zh-CN"' in page.text
        paid = pay(client, link["token"])
        assert paid.status_code == 200 and "已收到您的还款" in paid.text
        balance = client.get("/api/v1/loans/L1/balance").json()
        assert (balance["dpd"], balance["fees_outstanding"]) == (17, "50.00")
        history = client.get("/api/v1/loans/L1/payments").json()
        assert [(p["provider"], p["amount"]) for p in history] == [("sandbox", "1137.48")]

    def test_paying_twice_posts_once(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="100")
        page = client.get(f"/pay/{link['token']}").text
        form = {"csrf_token": _CSRF.search(page).group(1)}  # type: ignore[union-attr]
        client.post(f"/pay/{link['token']}", data=form)
        client.post(f"/pay/{link['token']}", data=form)  # a double click
        assert len(client.get("/api/v1/loans/L1/payments").json()) == 1

    def test_a_post_without_the_pages_token_is_refused_and_posts_nothing(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="100")
        client.get(f"/pay/{link['token']}")  # the cookie is there, the form field is not
        for form in ({}, {"csrf_token": "guessed"}):
            refused = client.post(f"/pay/{link['token']}", data=form)
            assert refused.status_code == 403
            assert "Payment not completed" in refused.text or "付款未完成" in refused.text
        assert client.get("/api/v1/loans/L1/payments").json() == []

    def test_a_post_from_another_site_is_refused_and_posts_nothing(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="100")
        assert pay(client, link["token"], origin="https://evil.example").status_code == 403
        assert pay(client, link["token"], referer="https://evil.example/x").status_code == 403
        assert client.get("/api/v1/loans/L1/payments").json() == []
        assert pay(client, link["token"], origin="http://testserver").status_code == 200

    def test_the_page_sends_security_headers(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="100")
        page = client.get(f"/pay/{link['token']}")
        policy = page.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
        assert f'<style nonce="{nonce}">' in page.text  # the page's one inline style
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src" not in policy  # no script at all
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"  # the URL holds the token
        assert page.headers["cache-control"] == "no-store"
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert f"Path=/pay/{link['token']}" in cookie

    def test_unknown_link_is_a_polite_404(self, client: TestClient) -> None:
        r = client.get("/pay/nope")
        assert r.status_code == 404 and "not found" in r.text
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


class TestWebhook:
    def signed(self, client: TestClient, body: bytes) -> dict[str, str]:
        provider = client.app.state.payment_providers["sandbox"]  # type: ignore[attr-defined]
        return {"X-Signature": provider.sign(body)}

    def event(self, link: dict, reference: str = "PSP-1") -> bytes:  # type: ignore[type-arg]
        amount_minor = int(re.sub(r"\D", "", link["amount"]))
        return json.dumps(
            {
                "link": link["token"],
                "reference": reference,
                "amount_minor": amount_minor,
                "currency": "CNY",
            }
        ).encode()

    def test_a_signed_event_posts_and_a_replay_does_not(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        body = self.event(link)
        url = "/api/v1/payments/webhooks/sandbox"
        first = client.post(url, content=body, headers=self.signed(client, body))
        again = client.post(url, content=body, headers=self.signed(client, body))
        assert (first.json()["status"], again.json()["status"]) == ("posted", "duplicate")
        assert len(client.get("/api/v1/loans/L1/payments").json()) == 1

    def test_a_bad_signature_is_refused_and_nothing_posts(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        r = client.post(
            "/api/v1/payments/webhooks/sandbox",
            content=self.event(link),
            headers={"X-Signature": "0" * 64},
        )
        assert r.status_code == 422
        assert client.get("/api/v1/loans/L1/payments").json() == []

    def test_an_amount_that_differs_from_the_link_is_refused(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        link = make_link(client, amount="250")
        body = self.event({**link, "amount": "999.00"})
        r = client.post(
            "/api/v1/payments/webhooks/sandbox", content=body, headers=self.signed(client, body)
        )
        assert r.status_code == 422
        assert client.get("/api/v1/loans/L1/payments").json() == []
