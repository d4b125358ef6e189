"""The provider webhook answers 4xx, never 500, to anything that is not a signed, well-formed
event; and it checks the signature before, and without, touching the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.deps import get_session
from backend.main import create_app

URL = "/api/v1/payments/webhooks/sandbox"


def signed(client: TestClient, body: bytes) -> dict[str, str]:
    provider = client.app.state.payment_providers["sandbox"]  # type: ignore[attr-defined]
    return {"X-Signature": provider.sign(body)}


def event(**fields: object) -> bytes:
    return json.dumps(
        {"link": "tok", "reference": "PSP-1", "amount_minor": 25_000, "currency": "CNY"} | fields
    ).encode()


@pytest.fixture
def link(client: TestClient, loan) -> dict:  # type: ignore[no-untyped-def, type-arg]
    made = client.post("/api/v1/loans/L1/payment-links", json={"amount": "250"})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe{", id="not-utf8"),
        pytest.param(b"[]", id="a-list"),
        pytest.param(b"{}", id="nothing-in-it"),
        pytest.param(
            b'{"link": "t", "reference": "r", "currency": "CNY", "amount_minor": 1e400}',
            id="amount-1e400",
        ),
        pytest.param(event(amount_minor=250.0), id="amount-float"),
        pytest.param(event(amount_minor="25000"), id="amount-text"),
        pytest.param(event(amount_minor=True), id="amount-true"),
        pytest.param(event(amount_minor=0), id="amount-zero"),
        pytest.param(event(amount_minor=-25_000), id="amount-negative"),
        pytest.param(event(amount_minor=10**30), id="amount-beyond-the-maximum"),
        pytest.param(b'{"amount_minor": ' + b"9" * 5000 + b"}", id="amount-5000-digits"),
        pytest.param(event(currency="cny"), id="currency-lowercase"),
        pytest.param(event(currency=None), id="currency-missing"),
        pytest.param(event(link=42), id="link-a-number"),
        pytest.param(event(reference=""), id="reference-empty"),
        pytest.param(event(reference="R" * 200), id="reference-too-long"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
    ],
)
def test_a_signed_but_malformed_event_is_a_422(
    client: TestClient,
    link: dict,  # type: ignore[type-arg]
    body: bytes,
) -> None:
    body = body.replace(b'"tok"', json.dumps(link["token"]).encode())
    r = client.post(URL, content=body, headers=signed(client, body))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "malformed_event"
    assert client.get("/api/v1/loans/L1/payments").json() == []


def test_the_same_event_well_formed_posts(client: TestClient, link: dict) -> None:  # type: ignore[type-arg]
    body = event(link=link["token"])
    r = client.post(URL, content=body, headers=signed(client, body))
    assert (r.status_code, r.json()["status"]) == (200, "posted")


@pytest.fixture
def no_database_app(tmp_path: Path) -> Iterator[tuple[TestClient, list[str]]]:
    """The app with a database session that records being asked for, and has no database."""
    opened: list[str] = []

    def recorded_session() -> Iterator[Session]:
        opened.append("session")
        raise AssertionError("the webhook asked for a database session")
        yield  # a generator, like the real one

    app = create_app(Settings(app_env="test", database_url=f"sqlite:///{tmp_path / 'none.db'}"))
    app.dependency_overrides[get_session] = recorded_session
    with TestClient(app) as client:
        yield client, opened


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="none"),
        pytest.param(b"", id="empty"),
        pytest.param(b"0" * 64, id="wrong"),
        pytest.param(b"not-hex", id="not-hex"),
        pytest.param("é".encode() * 32, id="non-ascii-utf8"),
        pytest.param(b"\xe9" * 64, id="non-ascii-latin1"),
        pytest.param(b"a" * 10_000, id="very-long"),
    ],
)
def test_a_bad_signature_is_refused_before_the_database(
    no_database_app: tuple[TestClient, list[str]], signature: bytes | None
) -> None:
    client, opened = no_database_app
    headers = {} if signature is None else {"X-Signature": signature}
    r = client.post(URL, content=event(), headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "bad_signature"
    assert opened == []


def test_an_unknown_provider_is_a_404(no_database_app: tuple[TestClient, list[str]]) -> None:
    client, opened = no_database_app
    r = client.post("/api/v1/payments/webhooks/nobody", content=event())
    assert (r.status_code, opened) == (404, [])
