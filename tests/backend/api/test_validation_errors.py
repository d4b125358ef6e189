"""A request the API cannot read answers 422 with one readable message in `detail` (the README's
promise) and the field-by-field list under `errors`; amounts are decimal strings, so a JSON
number or a boolean is refused for every money field, with a message saying what to send."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.ledger.models import Loan
from tests.backend import factories

CHAT = "/api/v1/conversations/telegram/42"
# Every money field of a request body: (path, the rest of a valid body).
MONEY_FIELDS = [
    ("/api/v1/loans/L1/payments", {"reference": "BANK-1"}),
    ("/api/v1/loans/L1/payment-links", {}),
    ("/api/v1/loans/L1/promises", {"promised_date": "2026-04-08"}),
    (f"{CHAT}/loans/L1/promises", {"promised_date": "2026-04-08"}),
    (f"{CHAT}/loans/L1/payment-links", {}),
]


@pytest.fixture
def bound(db: Session, loan: Loan) -> Loan:
    factories.conversation(db, who=loan.borrower)
    db.commit()
    return loan


def test_a_missing_field_is_named_in_one_sentence(client: TestClient, loan: Loan) -> None:
    r = client.post("/api/v1/loans/L1/payments", json={"amount": "500.00"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "reference: Field required"
    assert body["code"] == "invalid_request"
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["body", "reference"], "missing")]


def test_every_problem_is_in_the_sentence(client: TestClient, loan: Loan) -> None:
    r = client.post("/api/v1/loans/L1/payments", json={"amount": "-5", "received_on": "soon"})
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    assert "amount: Input should be greater than 0" in detail
    assert "reference: Field required" in detail
    assert "received_on: Input should be a valid date" in detail
    assert len(r.json()["errors"]) == 3


def test_a_bad_query_parameter_says_it_is_one(client: TestClient) -> None:
    r = client.get("/api/v1/cases?limit=0")
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "query parameter limit: Input should be greater than or equal to 1"
    )


@pytest.mark.parametrize(("path", "rest"), MONEY_FIELDS)
@pytest.mark.parametrize("number", [500, 500.5, True])
def test_a_json_number_is_no_amount(
    client: TestClient, bound: Loan, path: str, rest: dict[str, str], number: object
) -> None:
    r = client.post(path, json={**rest, "amount": number})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith('amount: an amount is a decimal string such as "500.00"')
    assert r.json()["errors"][0]["type"] == "amount_not_text"
    assert client.get("/api/v1/loans/L1/payments").json() == []
    assert client.get("/api/v1/loans/L1/promises").json() == []


def test_the_message_says_what_to_send_instead(client: TestClient, loan: Loan) -> None:
    r = client.post("/api/v1/loans/L1/payments", json={"reference": "B", "amount": 500.5})
    assert r.json()["detail"].endswith('not a JSON number: send "500.5"')


@pytest.mark.parametrize(("path", "rest"), MONEY_FIELDS)
def test_the_same_amount_as_a_string_is_taken(
    client: TestClient, bound: Loan, path: str, rest: dict[str, str]
) -> None:
    r = client.post(path, json={**rest, "amount": "500.00"})
    assert r.status_code == 201, r.text


def test_amounts_are_documented_as_strings(client: TestClient) -> None:
    schemas = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    for name in ("PaymentCreate", "PromiseCreate", "CollectorPromiseCreate"):
        assert schemas[name]["properties"]["amount"]["type"] == "string", name


@pytest.mark.parametrize("text", ["1e3", "5 00", "500.", "+500", "0x1f4", "12,50.00"])
def test_only_what_the_schema_documents_is_an_amount(
    client: TestClient, loan: Loan, text: str
) -> None:
    r = client.post("/api/v1/loans/L1/payments", json={"reference": "BANK-9", "amount": text})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["type"] == "amount_format"
    assert client.get("/api/v1/loans/L1/payments").json() == []


def test_thousands_separators_are_read_as_documented(client: TestClient, loan: Loan) -> None:
    r = client.post(
        "/api/v1/loans/L1/payments", json={"reference": "BANK-10", "amount": "1,000.00"}
    )
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/loans/L1/payments").json()[0]["amount"] == "1000.00"
