"""Request bodies have a ceiling (MAX_REQUEST_BYTES, 413 `body_too_large`), counted as the body
streams in; and a request the API cannot read is answered without repeating what was sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.body_limit import BodySizeLimit
from backend.config import Settings
from backend.ledger.models import Loan
from tests.backend.apps import app_over

TOKEN = "test-service-token"
INBOUND = "/api/v1/conversations/telegram/42/inbound"


@pytest.fixture
def small(db: Session, settings: Settings) -> Iterator[TestClient]:
    """The API with a 2,000-byte body limit."""
    limited = settings.model_copy(update={"max_request_bytes": 2000})
    app = app_over(db, limited)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def test_a_body_over_the_limit_is_413(small: TestClient) -> None:
    r = small.post(INBOUND, json={"text": "x" * 3000})
    assert r.status_code == 413
    assert r.json() == {
        "detail": "the request body is larger than the limit of 2000 bytes",
        "code": "body_too_large",
    }


def test_a_body_under_the_limit_is_read(small: TestClient) -> None:
    assert small.post(INBOUND, json={"text": "x" * 1500}).status_code == 200


def test_a_chunked_body_without_length_is_counted(small: TestClient) -> None:
    """No Content-Length to trust: the bytes are counted as they arrive."""

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    r = small.post(INBOUND, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large"


def test_the_console_has_the_same_limit(small: TestClient) -> None:
    r = small.post("/console/login", content=b"username=a&password=" + b"x" * 3000)
    assert r.status_code == 413


def test_the_default_is_one_mebibyte(client: TestClient) -> None:
    r = client.post(INBOUND, json={"text": "x" * (1024 * 1024)})
    assert r.status_code == 413
    assert r.json()["detail"] == "the request body is larger than the limit of 1048576 bytes"
    assert len(r.content) < 200


def _run(middleware: BodySizeLimit, messages: list[dict[str, Any]], headers: list[Any]) -> Any:
    """Drive the middleware directly with ASGI messages; the answer's start and body."""
    sent: list[dict[str, Any]] = []
    incoming = iter(messages)

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
    return sent


def test_a_body_longer_than_announced_is_still_refused() -> None:
    """A client that announces a small Content-Length and sends more is cut off by the count,
    even when the app reads the body itself (not through FastAPI's parsing)."""

    async def reads_everything(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    chunks = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 3
    sent = _run(
        BodySizeLimit(reads_everything, max_bytes=100), chunks, [(b"content-length", b"10")]
    )
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "body_too_large"


def test_an_announced_length_over_the_limit_is_refused_unread() -> None:
    async def never(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    sent = _run(BodySizeLimit(never, max_bytes=100), [], [(b"content-length", b"5000000")])
    assert sent[0]["status"] == 413


# -- nothing sent comes back ------------------------------------------------------------------


def test_a_long_invalid_value_is_not_echoed(client: TestClient, loan: Loan) -> None:
    """A 500 kB text in a field that refuses it: a short answer, without the text."""
    huge = "Q" * 500_000
    r = client.post("/api/v1/loans/L1/payments", json={"amount": "5", "reference": huge})
    assert r.status_code == 422
    assert "QQQQ" not in r.text
    assert len(r.content) < 1000
    assert r.json()["errors"][0] == {
        "loc": ["body", "reference"],
        "msg": "String should have at most 128 characters",
        "type": "string_too_long",
    }


def test_no_input_or_context_in_the_error_list(client: TestClient, loan: Loan) -> None:
    r = client.post(
        "/api/v1/loans/L1/payments", json={"amount": "-5", "reference": "", "secret": "x"}
    )
    for error in r.json()["errors"]:
        assert set(error) == {"loc", "msg", "type"}
    assert "-5" not in r.text


def test_a_message_that_quotes_the_value_is_cut_short(client: TestClient, loan: Loan) -> None:
    """A custom message may repeat the value (here a JSON number's digits): never at length."""
    digits = "9" * 1000
    body = '{"reference": "B-1", "amount": ' + digits + "}"
    r = client.post(
        "/api/v1/loans/L1/payments", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert digits not in r.text
    assert len(r.json()["detail"]) <= 300


def test_a_long_dict_key_is_cut_short_in_the_location(client: TestClient) -> None:
    key = "k" * 5000
    r = client.post(
        "/api/v1/conversations/telegram/42/messages",
        json={"sender": "borrower", "text": "hi", "entities": [{key: 1}], "confidence": "x"},
    )
    assert r.status_code == 422
    assert key not in r.text
