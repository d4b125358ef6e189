"""The OpenAPI document says what the API does: the bearer token, every error status with the
one error body the API really sends, closed sets as enums; and what it reads is what it
documents (ISO dates, not Unix timestamps; no empty message text)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.ledger.models import Loan
from backend.main import create_app

CHAT = "/api/v1/conversations/telegram/42"
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = tmp_path_factory.mktemp("openapi") / "unused.db"
    return create_app(Settings(app_env="test", database_url=f"sqlite:///{db}")).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()
    ]


def _error_schema(op: dict[str, Any], status: str) -> Any:
    return op["responses"][status]["content"]["application/json"]["schema"]


def test_the_service_token_is_a_declared_bearer_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "serviceToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <SERVICE_TOKEN>`",
        }
    }
    service_ops = [
        (m, p, op)
        for m, p, op in _operations(document)
        if p.startswith("/api/v1/") and not p.startswith("/api/v1/payments/webhooks")
    ]
    assert len(service_ops) > 50
    for method, path, op in service_ops:
        assert op.get("security") == [{"serviceToken": []}], (method, path)
        assert _error_schema(op, "401") == ERROR_BODY, (method, path)


def test_every_error_is_the_one_error_body(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["ErrorBody"]["required"]) == {"detail", "code"}
    for method, path, op in _operations(document):
        if path == "/healthz":
            continue
        for status in ("413", "422"):
            assert _error_schema(op, status) == ERROR_BODY, (method, path, status)
        for status, response in op["responses"].items():
            if status >= "400":
                assert response["content"]["application/json"]["schema"] == ERROR_BODY


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/api/v1/loans/{ref}", {"404"}),
        ("post", "/api/v1/loans/{ref}/payments", {"404", "409"}),
        ("get", "/api/v1/conversations/{channel}/{user_id}/loans/{loan_ref}/balance", {"403"}),
        ("post", "/api/v1/handoffs/{handoff_id}/take", {"404", "409"}),
        ("patch", "/api/v1/cases/{case_id}", {"409"}),
        ("post", "/api/v1/conversations/{channel}/{user_id}/cases", {"403"}),
        ("post", "/api/v1/approvals/{request_id}/{decision}", {"409"}),
        ("post", "/api/v1/outbound/{outbound_id}/delivery", {"409"}),
        ("post", "/api/v1/loans/{ref}/promises", {"409"}),
    ],
)
def test_refusals_are_declared_where_they_happen(
    document: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    op = document["paths"][path][method]
    for status in statuses:
        assert _error_schema(op, status) == ERROR_BODY, status


def test_the_channel_is_an_enum(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        for parameter in op.get("parameters", []):
            if parameter["name"] == "channel":
                assert parameter["schema"]["enum"] == ["telegram", "webchat", "whatsapp", "sms"], (
                    method,
                    path,
                )


def test_the_401_has_the_error_body(client: TestClient) -> None:
    r = client.get("/api/v1/cases", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert r.json() == {"detail": "missing or wrong service token", "code": "unauthorized"}
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get("/api/v1/cases", headers={"Authorization": ""})
    assert r.status_code == 401


def test_an_unknown_path_has_the_error_body(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found", "code": "not_found"}


def test_an_unknown_channel_is_refused_without_repeating_it(client: TestClient) -> None:
    r = client.get("/api/v1/conversations/fax-machine/1")
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "path parameter channel: unknown channel; expected one of telegram, webchat, whatsapp, sms"
    )
    assert "fax-machine" not in r.text


# -- dates are ISO text, never timestamps ----------------------------------------------------


@pytest.mark.parametrize("as_of", ["0", "1700000000", "20260401", "2026-4-1"])
def test_as_of_must_be_an_iso_date(client: TestClient, loan: Loan, as_of: str) -> None:
    r = client.get(f"/api/v1/loans/L1/balance?as_of={as_of}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        "query parameter as_of: Input should be a valid date in the form YYYY-MM-DD"
    )


def test_an_iso_as_of_is_read(client: TestClient, loan: Loan) -> None:
    r = client.get("/api/v1/loans/L1/balance?as_of=2026-03-01")
    assert r.status_code == 200
    assert r.json()["as_of"] == "2026-03-01"


@pytest.mark.parametrize("sent_at", [0, "0", 1700000000, "2026-04-01", "2026-04-01T09:30:00"])
def test_sent_at_must_be_an_iso_time_with_offset(client: TestClient, sent_at: object) -> None:
    r = client.post(f"{CHAT}/inbound", json={"text": "hi", "sent_at": sent_at})
    assert r.status_code == 422, r.text
    r = client.post(f"{CHAT}/messages", json={"sender": "bot", "text": "hi", "sent_at": sent_at})
    assert r.status_code == 422, r.text


def test_an_iso_sent_at_is_read(client: TestClient) -> None:
    r = client.post(f"{CHAT}/inbound", json={"text": "hi", "sent_at": "2026-04-01T09:30:00Z"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/loans/L1/payments", {"amount": "5.00", "reference": "B", "received_on": 0}),
        ("/api/v1/loans/L1/promises", {"amount": "500.00", "promised_date": 0}),
        ("/api/v1/loans/L1/promises", {"amount": "500.00", "promised_date": "1775001600"}),
    ],
)
def test_body_dates_are_iso_text(
    client: TestClient, loan: Loan, path: str, body: dict[str, object]
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text


def test_an_empty_inbound_text_is_refused(client: TestClient) -> None:
    r = client.post(f"{CHAT}/inbound", json={"text": ""})
    assert r.status_code == 422
    assert r.json()["detail"] == "text: String should have at least 1 character"
