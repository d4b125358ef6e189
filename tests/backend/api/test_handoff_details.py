"""What a borrower asked with a command or a button reads, in the console's inbox and chat header,
as the borrower sent it: the gateway logs "/human" and gives Rasa "/request_human", and the
action server files the handoff with the latter as its details."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.cases.models import Case, Handoff
from backend.cases.rules import borrower_details
from tests.backend.api.console_client import Console

CHAT = "/api/v1/conversations/telegram/42"


def borrower_sends(client: TestClient, text: str, kind: str, external_id: str) -> None:
    """As the gateway logs it before the message goes to Rasa."""
    r = client.post(
        f"{CHAT}/inbound", json={"text": text, "kind": kind, "external_id": external_id}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("details", "last_said", "shown"),
    [
        ("/request_human", "/human", "/human"),
        ('/inform{"amount": "500"}', "Pay 500.00", "Pay 500.00"),
        ("/request_human", None, "request human"),  # nothing logged: a readable label
        ("I was charged twice", "/human", "I was charged twice"),  # words stay words
        ("", "/human", ""),
    ],
)
def test_a_payload_becomes_what_the_borrower_sent(
    details: str, last_said: str | None, shown: str
) -> None:
    assert borrower_details(details, last_said=last_said) == shown


def test_the_human_command_shows_as_typed_in_the_inbox_and_the_chat(
    client: TestClient, db: Session, open_console: Callable[..., Console]
) -> None:
    borrower_sends(client, "/human", "command", "u1")
    r = client.post(
        f"{CHAT}/handoffs", json={"reason": "borrower_request", "details": "/request_human"}
    )
    assert r.status_code == 201, r.text
    handoff = db.get(Handoff, r.json()["id"])
    assert handoff is not None and handoff.details == "/human"
    supervisor = open_console("sue", "supervisor")
    inbox = supervisor.get("/console/inbox").text
    chat = supervisor.get(f"/console/handoffs/{handoff.id}").text
    for page in (inbox, chat):
        assert "/human" in page
        assert "/request_human" not in page


def test_a_button_pressed_shows_its_title_in_the_case(client: TestClient, db: Session) -> None:
    borrower_sends(client, "I want to complain", "button", "u2")
    r = client.post(f"{CHAT}/cases", json={"kind": "complaint", "details": "/complaint"})
    assert r.status_code == 201, r.text
    case = db.get(Case, r.json()["id"])
    assert case is not None and case.details == "I want to complain"
