"""Experiments on the assistant's texts: the action server reports which wording it said in a
chat; the dashboard counts each borrower once, with the wording first said to them, and
compares the wordings on payments and promises that followed, as it does reminder variants."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.analytics.figures import Scope
from backend.analytics.period import Period
from backend.conversations.messages import NewMessage, log_messages
from backend.ledger.models import Loan
from backend.ledger.service import post_payment
from backend.texts.experiments import text_experiments
from backend.texts.models import TextExposure, TextVersion
from tests.backend import factories

CHAT = "/api/v1/conversations/telegram/42/text-exposures"
DAY = date(2026, 3, 10)


def test_the_action_server_reports_what_it_said(client: TestClient, db: Session, loan: Loan):
    factories.conversation(db, who=loan.borrower)
    db.commit()
    said = {"version": 4, "said": [{"key": "verified", "variant": "challenger"}]}
    assert client.post(CHAT, json=said).json() == {"recorded": 1}
    [row] = db.scalars(select(TextExposure)).all()
    assert (row.key, row.variant, row.version, row.borrower_id) == (
        "verified", "challenger", 4, loan.borrower_id,
    )  # fmt: skip
    bad = {"version": 4, "said": [{"key": "verified", "variant": "third"}]}
    assert client.post(CHAT, json=bad).status_code == 422
    unknown = client.post("/api/v1/conversations/telegram/999/text-exposures", json=said)
    assert unknown.status_code == 404


def said(db: Session, chat, variant: str, day: int, key: str = "verified") -> None:  # type: ignore[no-untyped-def]
    db.add(TextExposure(version=1, key=key, variant=variant, conversation_id=chat.id,
                        borrower_id=chat.borrower_id,
                        said_at=datetime(2026, 3, day, 4, tzinfo=UTC)))  # fmt: skip


def test_each_borrower_counts_once_and_converts_on_a_payment_that_followed(db: Session):
    paying = factories.loan(db, ref="L1")
    silent = factories.loan(db, ref="L2")
    first_chat = factories.conversation(db, who=paying.borrower, user_id="1")
    second_chat = factories.conversation(db, who=paying.borrower, channel="webchat", user_id="w")
    silent_chat = factories.conversation(db, who=silent.borrower, user_id="2")
    stranger = factories.conversation(db, user_id="3")  # not verified: counted by its chat
    db.flush()
    said(db, first_chat, "challenger", 10)
    said(db, second_chat, "champion", 11)  # the same borrower again: not counted twice
    said(db, silent_chat, "champion", 10)
    said(db, stranger, "challenger", 10)
    post_payment(db, loan=paying, amount=50_000, reference="p1", provider="sandbox",
                 received_on=date(2026, 3, 12), today=date(2026, 3, 12))  # fmt: skip
    db.flush()
    [experiment] = text_experiments(
        db, Period(Scope(date(2026, 3, 1), date(2026, 3, 31))), results_days=7
    )
    assert experiment.step_id == "text:verified"
    assert (experiment.challenger.sent, experiment.challenger.converted) == (2, 1)
    assert (experiment.champion.sent, experiment.champion.converted) == (1, 0)
    assert experiment.difference is not None
    # Only what was said in the period, and in the slice.
    assert text_experiments(db, Period(Scope(date(2026, 4, 1), date(2026, 4, 30))),
                            results_days=7) == []  # fmt: skip
    [webchat] = text_experiments(
        db, Period(Scope(date(2026, 3, 1), date(2026, 3, 31), channel="webchat")), results_days=7
    )
    assert (webchat.champion.sent, webchat.challenger.sent) == (1, 0)


def test_an_experiment_judged_on_replies_counts_a_reply_that_followed(db: Session):
    replying = factories.loan(db, ref="L1")
    chat = factories.conversation(db, who=replying.borrower, user_id="1")
    db.add(TextVersion(number=1, status="active", note="x", base=0, proposed_by="a",
                       overrides={"texts": {}, "buttons": {}, "experiments": {"verified": {
                           "zh": "好的{name}", "en": "OK {name}", "share": 0.5,
                           "outcome": "replied"}}}))  # fmt: skip
    db.flush()
    said(db, chat, "challenger", 10)
    reply = NewMessage(sender="borrower", text="谢谢", sent_at=datetime(2026, 3, 10, 5, tzinfo=UTC))
    log_messages(db, conversation=chat, messages=[reply])
    db.flush()
    [experiment] = text_experiments(
        db, Period(Scope(date(2026, 3, 1), date(2026, 3, 31))), results_days=7
    )
    assert (experiment.challenger.sent, experiment.challenger.converted) == (1, 1)
