"""Schemathesis against the backend's own OpenAPI document, in process, on PostgreSQL (what
production runs; every other API test runs on SQLite too, and this one is the suite's slowest):
every operation, with valid and invalid requests, with every check (no server
error, every status, header and body as documented, 401 without the token, ...).

The database holds the demo borrowers, and one Telegram chat is linked to a demo borrower by a
link token, so half the generated requests name things that exist (that chat, a demo loan, the
first row of each table) and reach the code behind the 404s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.config import Settings
from backend.demo.seed import seed_demo
from backend.types import utcnow
from backend.verification.service import issue_link_token
from tests.backend.api.conftest import TODAY, TOKEN
from tests.backend.apps import app_over
from tests.fuzzing import fuzz_all

LINKED_CHAT = "900000001"
DEMO_LOAN = "L-DEMO-03"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _link_a_chat(db: Session, app: FastAPI) -> None:
    """The way a borrower does it: a link token, sent from the chat (/start <token>)."""
    borrower = db.scalars(select(Borrower).where(Borrower.ref == "DEMO-03")).one()
    token, _ = issue_link_token(db, borrower, now=utcnow(), ttl=timedelta(hours=1))
    db.commit()
    with TestClient(app, headers=AUTH) as client:
        r = client.post(
            f"/api/v1/conversations/telegram/{LINKED_CHAT}/verify/link-token", json={"token": token}
        )
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text


KNOWN = {"channel": "telegram", "user_id": LINKED_CHAT, "ref": DEMO_LOAN, "loan_ref": DEMO_LOAN}


@pytest.fixture
def backend_app(db: Session, settings: Settings) -> FastAPI:
    seed_demo(db, id_hash_key=settings.id_hash_key, today=TODAY)
    db.commit()
    app = app_over(db, settings)
    _link_a_chat(db, app)
    return app


def _existing(path_parameters: dict[str, Any]) -> dict[str, Any]:
    """The same parameters naming things that exist: the linked chat, a demo loan, row 1."""
    return {
        name: KNOWN.get(name, 1 if isinstance(value, int) else value)
        for name, value in path_parameters.items()
    }


def _point_at_existing(case: schemathesis.Case, known: bool) -> None:
    if known and case.path_parameters:
        case.path_parameters = _existing(case.path_parameters)


@pytest.mark.parametrize(
    "db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_every_operation_keeps_its_contract(backend_app: FastAPI) -> None:
    # The token as the document declares it (serviceToken): requests without it are generated
    # too, and must be 401.
    config = schemathesis.Config.from_dict(
        {"auth": {"openapi": {"serviceToken": {"bearer": TOKEN}}}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", backend_app, config=config)
    fuzz_all(schema, prepare=_point_at_existing)
