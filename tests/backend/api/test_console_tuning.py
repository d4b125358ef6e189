"""Operations' misunderstood-message inbox: what is listed and why, labelling into the
training data (masked), the conversation behind a message, and who may open them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.cases.handoffs import request_handoff
from backend.config import ROOT, Settings
from backend.conversations.messages import Message, NewMessage, log_messages
from backend.conversations.models import Conversation
from backend.tuning.models import MessageLabel
from backend.tuning.training_data import read_examples
from backend.types import utcnow
from tests.backend import factories
from tests.backend.api.console_client import Console, make_user
from tests.backend.apps import app_over


@pytest.fixture
def nlu_dir(tmp_path: Path) -> Path:
    """A copy of the assistant's domain and config: labels are written here, not into nlu/."""
    target = tmp_path / "nlu"
    shutil.copytree(ROOT / "nlu" / "domain", target / "domain")
    shutil.copy(ROOT / "nlu" / "config.yml", target / "config.yml")
    return target


@pytest.fixture
def ops(db: Session, settings: Settings, nlu_dir: Path) -> Console:
    app: FastAPI = app_over(db, settings.model_copy(update={"nlu_dir": nlu_dir}))
    make_user(db, "olga", "operations")
    console = Console(app)
    assert console.login("olga").status_code == 303
    return console


def said(db: Session, chat_id: int, *turns: tuple[str, str | None, float | None, int]) -> list[int]:
    """Borrower turns (text, intent, confidence, seconds ago); their message ids."""
    conversation = factories.conversation(db, user_id=str(chat_id))
    now = utcnow()
    ids = []
    for text, intent, confidence, ago in turns:
        [m] = log_messages(
            db,
            conversation=conversation,
            messages=[
                NewMessage(
                    sender="borrower",
                    text=text,
                    intent=intent,
                    confidence=confidence,
                    sent_at=now - timedelta(seconds=ago),
                )
            ],
        )
        ids.append(m.id)
    db.commit()
    return ids


class TestInbox:
    def test_lists_fallbacks_low_confidence_handoffs_and_rephrases_grouped_by_intent(
        self, ops: Console, db: Session
    ):
        said(db, 1, ("嗯嗯那个啥", "nlu_fallback", 0.6, 300))
        said(db, 2, ("maybe later idk", "promise_to_pay", 0.41, 300))
        said(db, 3, ("how much do I owe", "check_balance", 0.97, 300))  # understood
        said(
            db,
            4,
            ("money thing", "payment_history", 0.7, 300),
            ("how much do I owe", "check_balance", 0.99, 280),
        )
        [before_handoff] = said(db, 5, ("你们到底想怎样", "ask_fees", 0.8, 60))
        chat = db.get_one(Message, before_handoff).conversation_id
        request_handoff(db, conversation=db.get_one(Conversation, chat), reason="borrower_request")
        db.commit()
        page = ops.get("/console/tuning")
        assert page.status_code == 200
        text = page.text
        for listed in ("嗯嗯那个啥", "maybe later idk", "你们到底想怎样", "money thing"):
            assert listed in text
        assert "how much do I owe" not in text  # understood, in chats 3 and 4
        for why in ("fell back", "low confidence", "then a handoff", "then rephrased"):
            assert why in text

    def test_search_narrows_the_list(self, ops: Console, db: Session):
        said(db, 1, ("嗯嗯那个啥", "nlu_fallback", 0.6, 300))
        said(db, 2, ("maybe later idk", "nlu_fallback", 0.6, 300))
        page = ops.get("/console/tuning", params={"q": "later"})
        assert "maybe later idk" in page.text and "嗯嗯那个啥" not in page.text


class TestLabelling:
    def test_a_label_is_written_masked_into_the_training_data_and_recorded(
        self, ops: Console, db: Session, nlu_dir: Path
    ):
        [message] = said(db, 1, ("我手机13800138001，找真人", "nlu_fallback", 0.6, 300))
        ops.get("/console/tuning")
        done = ops.post(f"/console/tuning/messages/{message}/label", {"intent": "request_human"})
        assert done.status_code == 303
        examples = read_examples(nlu_dir / "data" / "nlu" / "labelled.yml")
        assert examples == {"request_human": ["我手机[phone]，找真人"]}
        label = db.scalars(select(MessageLabel)).one()
        assert (label.message_id, label.intent, label.labelled_by) == (
            message,
            "request_human",
            "olga",
        )
        assert "request_human" in ops.get("/console/tuning").text  # shown as labelled

    def test_out_of_scope_is_a_label_too_and_an_unknown_intent_is_refused(
        self, ops: Console, db: Session, nlu_dir: Path
    ):
        [message] = said(db, 1, ("what's the weather", "nlu_fallback", 0.6, 300))
        ops.get("/console/tuning")
        refused = ops.post(f"/console/tuning/messages/{message}/label", {"intent": "weather"})
        assert refused.status_code == 422
        assert "unknown intent" in refused.text
        assert not (nlu_dir / "data" / "nlu" / "labelled.yml").exists()
        ops.post(f"/console/tuning/messages/{message}/label", {"intent": "out_of_scope"})
        assert read_examples(nlu_dir / "data" / "nlu" / "labelled.yml") == {
            "out_of_scope": ["what's the weather"]
        }


class TestEntityMarks:
    def test_a_label_with_entities_writes_them_in_rasa_syntax(
        self, ops: Console, db: Session, nlu_dir: Path
    ):
        [message] = said(db, 1, ("我下周五还两千五", "nlu_fallback", 0.6, 300))
        page = ops.get("/console/tuning")
        assert 'name="entity"' in page.text and '<option value="amount"' in page.text
        form = {  # the form's three (entity, words) pairs, the last left empty
            "intent": "promise_to_pay",
            "entity": ["amount", "date", ""],
            "words": ["两千五", " 下周五 ", ""],
        }
        done = ops.post(f"/console/tuning/messages/{message}/label", form)  # type: ignore[arg-type]
        assert done.status_code == 303
        written = "我[下周五](date)还[两千五](amount)"
        path = nlu_dir / "data" / "nlu" / "labelled.yml"
        assert read_examples(path) == {"promise_to_pay": [written]}
        assert f"    - {written}\n" in path.read_text(encoding="utf-8")
        assert db.scalars(select(MessageLabel)).one().example == written

    def test_the_form_shows_the_masked_text_that_is_written(self, ops: Console, db: Session):
        said(db, 1, ("我手机13800138001  月底还", "nlu_fallback", 0.6, 300))
        page = ops.get("/console/tuning")
        assert "<code>我手机[phone] 月底还</code>" in page.text
        assert "13800138001" not in page.text

    def test_a_mark_of_masked_words_is_refused_and_nothing_is_written(
        self, ops: Console, db: Session, nlu_dir: Path
    ):
        [message] = said(db, 1, ("我手机13800138001，月底还", "nlu_fallback", 0.6, 300))
        ops.get("/console/tuning")
        refused = ops.post(
            f"/console/tuning/messages/{message}/label",
            {"intent": "update_contact", "entity": "amount", "words": "13800138001"},
        )
        assert refused.status_code == 422
        assert "personal data" in refused.text and 'role="alert"' in refused.text
        assert not (nlu_dir / "data" / "nlu" / "labelled.yml").exists()
        assert db.scalars(select(MessageLabel)).all() == []

    def test_a_refused_label_keeps_what_the_operator_filled_in(
        self, ops: Console, db: Session, nlu_dir: Path
    ):
        [message] = said(db, 1, ("我下周五还两千五", "nlu_fallback", 0.6, 300))
        ops.get("/console/tuning")
        refused = ops.post(
            f"/console/tuning/messages/{message}/label",
            {"intent": "promise_to_pay", "entity": "money", "words": "两千五"},
        )
        assert refused.status_code == 422 and "unknown entity" in refused.text
        assert 'value="两千五"' in refused.text and '<details class="marks" open>' in refused.text
        missing = ops.post(
            f"/console/tuning/messages/{message}/label",
            {"intent": "promise_to_pay", "entity": "amount", "words": "三千"},
        )
        assert missing.status_code == 422 and "not in the message" in missing.text
        assert not (nlu_dir / "data" / "nlu" / "labelled.yml").exists()


class TestAccess:
    def test_the_conversation_behind_a_message_is_shown_and_audited(
        self, ops: Console, db: Session
    ):
        [message] = said(db, 1, ("嗯嗯那个啥", "nlu_fallback", 0.6, 300))
        chat = db.get_one(Message, message).conversation_id
        page = ops.get(f"/console/conversations/{chat}?message={message}")
        assert page.status_code == 200
        assert "嗯嗯那个啥" in page.text and "nlu_fallback" in page.text
        assert db.scalars(
            select(AuditEntry).where(AuditEntry.subject == f"conversation {chat}")
        ).all()

    def test_collectors_cannot_open_the_tuning_pages(
        self, open_console: Callable[..., Console], db: Session
    ):
        [message] = said(db, 1, ("嗯嗯那个啥", "nlu_fallback", 0.6, 300))
        collector = open_console("ann", "collector")
        assert collector.get("/console/tuning").status_code == 403
        assert collector.get("/console/conversations/1").status_code == 403
        collector.get("/console/inbox")
        refused = collector.post(f"/console/tuning/messages/{message}/label", {"intent": "greet"})
        assert refused.status_code == 403


class TestReview:
    def chat(self, db: Session, user_id: str, text: str, intent: str, **bound: object) -> int:
        conversation = factories.conversation(db, user_id=user_id, **bound)  # type: ignore[arg-type]
        log_messages(
            db,
            conversation=conversation,
            messages=[NewMessage(sender="borrower", text=text, intent=intent, confidence=0.9)],
        )
        db.commit()
        return conversation.id

    def test_filters_by_outcome_intent_and_language(self, ops: Console, db: Session):
        loan = factories.loan(db)
        contained = self.chat(db, "1", "how much do I owe", "check_balance")
        handed = self.chat(db, "2", "我要人工", "request_human")
        request_handoff(
            db, conversation=db.get_one(Conversation, handed), reason="borrower_request"
        )
        paid = self.chat(db, "3", "我下周五还", "promise_to_pay", who=loan.borrower)
        factories.payment(db, loan, 10_000, utcnow().date(), "after-chat")
        db.commit()

        def listed(**params: str) -> set[int]:
            page = ops.get("/console/conversations", params=params)
            assert page.status_code == 200
            return {c for c in (contained, handed, paid) if f'data-conversation="{c}"' in page.text}

        assert listed() == {contained, handed, paid}
        assert listed(outcome="handed_off") == {handed}
        assert listed(outcome="contained") == {contained, paid}
        assert listed(outcome="paid") == {paid}
        assert listed(intent="request_human") == {handed}
        assert listed(language="zh") == {paid}  # the bound borrower's language
        tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
        assert listed(since=tomorrow) == set()
