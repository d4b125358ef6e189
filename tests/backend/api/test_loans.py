from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.backend.api.conftest import TODAY


class TestAuth:
    def test_refuses_a_missing_or_wrong_service_token(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        assert client.get("/api/v1/loans/L1", headers={"Authorization": ""}).status_code == 401
        wrong = client.get("/api/v1/loans/L1", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401

    def test_openapi_documents_the_api(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert "/api/v1/loans/{ref}/balance" in paths
        assert "/api/v1/loans/{ref}/payments" in paths


class TestBalance:
    def test_45_days_late_with_its_breakdown(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        body = client.get("/api/v1/loans/L1/balance").json()
        assert body["as_of"] == TODAY.isoformat()
        assert (body["dpd"], body["bucket"], body["status"]) == (45, "31-60", "active")
        assert body["principal_outstanding"] == "12000.00"
        assert body["interest_outstanding"] == "230.54"
        assert body["fees_outstanding"] == "100.00"
        assert body["penalty_outstanding"] == "29.41"
        assert body["overdue_amount"] == "2261.79"
        assert body["payoff_amount"] == "12415.33"
        assert (body["next_due_date"], body["next_due_amount"]) == ("2026-04-15", "1066.19")

    def test_as_of_any_business_date(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        body = client.get("/api/v1/loans/L1/balance", params={"as_of": "2026-02-10"}).json()
        assert (body["dpd"], body["bucket"], body["overdue_amount"]) == (0, "current", "0.00")

    def test_a_date_in_the_wrong_format_is_a_clear_422(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        r = client.get("/api/v1/loans/L1/balance", params={"as_of": "01/04/2026"})
        assert r.status_code == 422
        assert "as_of" in str(r.json()["detail"])

    def test_unknown_loan_is_404(self, client: TestClient) -> None:
        r = client.get("/api/v1/loans/NOPE/balance")
        assert r.status_code == 404
        assert r.json() == {"detail": "no loan 'NOPE'", "code": "not_found"}

    def test_loan_summary_shows_its_terms(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        body = client.get("/api/v1/loans/L1").json()
        assert body["principal"] == "12000.00" and body["currency"] == "CNY"
        assert body["schedule_type"] == "annuity" and body["grace_days"] == 3
        assert body["balance"]["dpd"] == 45


class TestSchedule:
    def test_rows_with_their_state(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        rows = client.get("/api/v1/loans/L1/schedule").json()["installments"]
        assert [r["status"] for r in rows[:3]] == ["overdue", "overdue", "upcoming"]
        assert rows[0] | {"status": None} == {
            "seq": 1,
            "due_date": "2026-02-15",
            "status": None,
            "arrangement_id": None,
            "principal": "946.19",
            "interest": "120.00",
            "fees": "50.00",
            "penalty": "21.29",
            "paid": "0.00",
            "outstanding": "1137.48",
        }


class TestPostingPayments:
    def post(self, client: TestClient, **body: object):  # type: ignore[no-untyped-def]
        return client.post("/api/v1/loans/L1/payments", json={"reference": "BANK-1", **body})

    def test_posts_and_allocates_by_the_waterfall(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        r = self.post(client, amount="1137.48")
        assert r.status_code == 201
        body = r.json()
        assert body["duplicate"] is False
        assert [
            (a["installment"], a["component"], a["amount"]) for a in body["payment"]["allocations"]
        ] == [
            (1, "fee", "50.00"),
            (1, "penalty", "21.29"),
            (1, "interest", "120.00"),
            (1, "principal", "946.19"),
        ]
        assert body["balance"]["dpd"] == 17  # the March installment is now the oldest unpaid

    def test_the_same_reference_twice_posts_once_and_says_so(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        first = self.post(client, amount="500")
        again = self.post(client, amount="500")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["duplicate"] is True
        assert "already posted" in again.json()["message"]
        assert again.json()["balance"] == first.json()["balance"]
        assert len(client.get("/api/v1/loans/L1/payments").json()) == 1

    def test_the_same_reference_for_another_amount_is_a_conflict(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        self.post(client, amount="500")
        r = self.post(client, amount="600")
        assert r.status_code == 409
        assert len(client.get("/api/v1/loans/L1/payments").json()) == 1

    @pytest.mark.parametrize(
        ("amount", "fragment"),
        [
            ("-5", "greater than 0"),
            ("0", "greater than 0"),
            ("abc", "decimal"),
            ("10.005", "decimal places"),
        ],
    )
    def test_bad_amounts_are_refused_and_nothing_is_written(
        self,
        client: TestClient,
        loan,
        amount: str,
        fragment: str,  # type: ignore[no-untyped-def]
    ) -> None:
        r = self.post(client, amount=amount)
        assert r.status_code == 422
        assert fragment in str(r.json()["detail"]).lower()
        assert client.get("/api/v1/loans/L1/payments").json() == []

    def test_a_payment_dated_after_today_is_refused(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        r = self.post(client, amount="100", received_on="2026-04-02")
        assert r.status_code == 422
        assert "after today's business date" in r.json()["detail"]

    def test_a_back_dated_payment_counts_from_its_date(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        self.post(client, amount="1066.19", received_on="2026-02-15")
        body = client.get("/api/v1/loans/L1/balance").json()
        assert body["dpd"] == 17  # February was paid on time: no fee, no penalty for it
        assert body["fees_outstanding"] == "50.00"

    def test_payment_history_lists_newest_first_with_allocations(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        self.post(client, amount="100", received_on="2026-03-01")
        client.post("/api/v1/loans/L1/payments", json={"reference": "BANK-2", "amount": "200"})
        history = client.get("/api/v1/loans/L1/payments").json()
        assert [p["reference"] for p in history] == ["BANK-2", "BANK-1"]
        assert history[1]["allocations"][0]["component"] == "fee"
        early = client.get("/api/v1/loans/L1/payments", params={"as_of": "2026-03-15"}).json()
        assert [p["reference"] for p in early] == ["BANK-1"]


def test_borrower_summary_masks_identity(client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/borrowers/B-L1").json()
    assert body["phone_masked"] == "+86*******8001"
    assert "date_of_birth" not in body and "id_last4" not in body
    assert [x["ref"] for x in body["loans"]] == ["L1"]
    assert client.get("/api/v1/borrowers/nobody").status_code == 404


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_business_date_defaults_to_the_configured_day(client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/loans/L1/balance").json()["as_of"] == date(2026, 4, 1).isoformat()
