"""Empty query parameters are no filter: `GET /api/v1/cases?kind=&status=&borrower_ref=`, as
the README writes it, answers what `GET /api/v1/cases` does. Swept over every GET of the API
that takes query parameters (from the OpenAPI document), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.empty_filters import without_empty_values
from backend.ledger.models import Loan
from backend.plans.models import ApprovalRequest
from tests.backend import factories

# Path parameters filled with the test's own loan, its borrower and their chat.
FILL = {"ref": "L1", "loan_ref": "L1", "channel": "telegram", "user_id": "42"}
BORROWER_REF = "B-L1"


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        (b"kind=&status=&borrower_ref=", b""),
        (b"kind=dispute&status=&borrower_ref=B%201", b"kind=dispute&borrower_ref=B%201"),
        (b"open_only&limit=5", b"limit=5"),
        (b"as_of=2026-04-01", b"as_of=2026-04-01"),
        (b"", b""),
    ],
)
def test_empty_values_are_dropped_and_the_rest_kept_as_sent(query: bytes, kept: bytes) -> None:
    assert without_empty_values(query) == kept


@pytest.fixture
def busy_loan(db: Session, loan: Loan, client: TestClient) -> Loan:
    """A loan whose chat has a case, a waiting handoff and a pending approval: every list has
    something to show, so an empty filter that filtered on "" would show less."""
    chat = factories.conversation(db, who=loan.borrower)
    factories.handoff(db, conversation=chat, details="wants a person")
    db.add(
        ApprovalRequest(
            loan_id=loan.id,
            conversation_id=chat.id,
            discount_share=Decimal("0.3"),
            parts=1,
            requested_on=date(2026, 4, 1),
            settles_minor=100_000,
            discount_minor=30_000,
            requested_by="bot",
        )
    )
    db.commit()
    r = client.post(
        "/api/v1/conversations/telegram/42/cases",
        json={"kind": "dispute", "loan_ref": "L1", "details": "not mine"},
    )
    assert r.status_code == 201, r.text
    return loan


def filtered_reads(client: TestClient) -> list[tuple[str, list[str]]]:
    """Every GET under /api/v1 with query parameters, its path filled in, and their names."""
    found = []
    for path, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        get = operations.get("get")
        names = [p["name"] for p in (get or {}).get("parameters", []) if p["in"] == "query"]
        if path.startswith("/api/v1/") and names:
            filled = re.sub(r"\{(\w+)\}", lambda m: FILL[m.group(1)], path)
            found.append((filled.replace("/borrowers/L1", f"/borrowers/{BORROWER_REF}"), names))
    return found


def test_the_readme_case_filters_left_empty_list_every_case(
    client: TestClient, busy_loan: Loan
) -> None:
    r = client.get("/api/v1/cases?kind=&status=&borrower_ref=")
    assert r.status_code == 200, r.text
    assert [c["kind"] for c in r.json()] == ["dispute"]


def timeless(rows: Any) -> Any:
    """The rows without what the clock says at the moment of the call (how long a handoff has
    waited): the two calls compared may fall either side of a second."""
    if isinstance(rows, list):
        return [
            {k: v for k, v in row.items() if k != "waiting_seconds"}
            if isinstance(row, dict)
            else row
            for row in rows
        ]
    return rows


def test_every_filter_left_empty_answers_as_if_left_out(
    client: TestClient, busy_loan: Loan
) -> None:
    reads = filtered_reads(client)
    paths = {path for path, _ in reads}
    assert {"/api/v1/cases", "/api/v1/handoffs", "/api/v1/approvals"} <= paths
    assert "/api/v1/promise-escalations" in paths
    for path, names in reads:
        plain = client.get(path)
        empty = client.get(path + "?" + "&".join(f"{name}=" for name in names))
        assert plain.status_code == 200, (path, plain.text)
        assert (empty.status_code, timeless(empty.json())) == (200, timeless(plain.json())), path
    assert client.get("/api/v1/handoffs?status=").json()  # the waiting queue, not nothing
    assert client.get("/api/v1/approvals?status=").json()  # pending ones, not nothing


def test_a_filled_filter_still_filters(client: TestClient, busy_loan: Loan) -> None:
    assert client.get("/api/v1/cases?kind=complaint&status=").json() == []
    assert client.get("/api/v1/handoffs?status=closed&limit=").json() == []
    r = client.get("/api/v1/cases?borrower_ref=NOPE&kind=")
    assert r.status_code == 404
