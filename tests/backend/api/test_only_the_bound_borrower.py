"""The authorization rule, swept over every borrower-facing endpoint: a conversation sees and
changes only the borrower bound to it, however the request is formed."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.conversations.messages import Message, NewMessage, log_messages
from backend.conversations.models import Conversation
from backend.ledger.models import Arrangement
from backend.payments.models import PaymentLink
from backend.plans.models import ApprovalRequest
from backend.promises.models import Promise
from tests.backend import factories

PREFIX = "/api/v1/conversations/{channel}/{user_id}"
# What only borrower B's data would contain: B's name, phone, and B's loan's principal.
SECRETS = ("Zed Other", "8613911112222", "8765.43", "876543")

BODIES = {  # a well-formed body for each write, aimed at borrower B's loan where it names one
    "/cases": {"kind": "dispute", "loan_ref": "L-B", "details": "not mine"},
    "/handoffs": {"reason": "borrower_request"},
    "/messages": {"sender": "borrower", "text": "hi"},
    "/inbound": {"text": "hi"},
    "/outbound": {"text": "hi", "sender": "system"},
    "/promises": {"amount": "1000", "promised_date": "2026-04-05"},
    "/arrangements": {"offer_id": "x"},
    "/payment-links": {},
    "/verify/link-token": {"token": "nope"},
    "/verify/phone": {"phone": "+8613911112222", "second_factor": "0000"},
    "/wrong-person": {"note": ""},
    "/opt-in": {},
    "": {},
}


def borrower_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every documented endpoint under a conversation, with each of its methods."""
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith(PREFIX)
        for method in operations
    ]


@pytest.fixture
def two_borrowers(db: Session):  # type: ignore[no-untyped-def]
    """A: bound to telegram/A1, 45 days late. B: another borrower, also late, bound elsewhere."""
    a = factories.loan(db, ref="L-A")
    b_borrower = factories.borrower(
        db, ref="B-B", full_name="Zed Other", phone_e164="+8613911112222"
    )
    b = factories.loan(
        db, ref="L-B", principal=876_543, who=b_borrower, disbursed_on=date(2025, 12, 1)
    )
    factories.conversation(db, who=a.borrower, user_id="A1")
    b_chat = factories.conversation(db, who=b.borrower, user_id="B1")
    said = NewMessage("borrower", "I am Zed Other", external_id="zed-1")
    log_messages(db, conversation=b_chat, messages=[said])
    db.commit()
    return a, b


def rebind_a(db: Session, borrower) -> None:  # type: ignore[no-untyped-def]
    conversation = db.scalars(
        select(Conversation).where(
            Conversation.channel == "telegram", Conversation.channel_user_id == "A1"
        )
    ).one()
    conversation.borrower = borrower
    db.commit()


def call(client: TestClient, method: str, path: str) -> tuple[int, str]:
    body = next(v for k, v in BODIES.items() if path.endswith(k))
    r = client.request(method, path, json=body if method in {"POST", "PUT", "PATCH"} else None)
    return r.status_code, r.text


def test_every_borrower_endpoint_is_covered(client: TestClient) -> None:
    assert len(borrower_routes(client)) >= 20


def test_no_endpoint_gives_one_conversation_another_borrowers_data(
    client: TestClient,
    db: Session,
    two_borrowers,  # type: ignore[no-untyped-def]
) -> None:
    a, b = two_borrowers
    b_message = db.scalar(select(Message.id).where(Message.text == "I am Zed Other"))
    for channel, user in (("telegram", "A1"), ("telegram", "nobody"), ("webchat", "A1")):
        for method, template in borrower_routes(client):
            rebind_a(db, a.borrower)  # a wrong-person report earlier in the sweep unbinds it
            path = template.format(
                channel=channel,
                user_id=user,
                loan_ref="L-B",
                message_id=b_message,
                external_id="zed-1",
            )
            status, text = call(client, method, path)
            assert status < 500, (method, path, text)
            leaked = [s for s in SECRETS if s in text]
            assert not leaked, (method, path, leaked)
    # and nothing was done to B's loan through those conversations
    for model in (Promise, Arrangement, PaymentLink, ApprovalRequest):
        assert db.scalar(select(func.count()).select_from(model).where(model.loan_id == b.id)) == 0
    assert db.scalar(select(func.count()).select_from(Case).where(Case.loan_id == b.id)) == 0


def test_b_still_sees_its_own_loan(client: TestClient, two_borrowers) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/conversations/telegram/B1/loans/L-B/balance")
    assert r.status_code == 200 and r.json()["principal_outstanding"] == "8765.43"
