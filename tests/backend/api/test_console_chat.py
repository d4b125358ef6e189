"""The console as collectors and supervisors use it, through HTTP: the inbox, a chat and what
is done in it for the borrower, approvals, the user's language, users and the create-user
command. Each test checks what the page shows and what was written: the database, and the
outbox (the messages on their way to the borrower).

The chat's borrower writes Chinese. Their loan L-42 on TODAY (1 April 2026): 12,000.00 from
15 Jan 2026, nothing paid, 45 days past due; 2,261.79 is overdue and due now. A promise may be
dated up to 15 April. L-77 (from 1 Nov 2025) is 121 days past due: settlements only, the
larger discount (9,632.78 CNY in all) needing a supervisor."""

from __future__ import annotations

import io
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import __main__ as cli
from backend.audit.models import AuditEntry
from backend.borrowers.models import Borrower
from backend.cases.models import Case, Handoff, Note
from backend.cases.service import proactive_contact_hold
from backend.config import Settings, get_settings
from backend.conversations.messages import Message, NewMessage, log_messages
from backend.db import make_engine
from backend.demo.users import DEMO_PASSWORD, DEMO_USERS, seed_demo_users
from backend.ledger.models import Arrangement, Loan
from backend.main import create_app
from backend.outbound.models import OutboundMessage
from backend.payments.models import PaymentLink
from backend.plans.models import ApprovalRequest
from backend.promises.models import Promise
from backend.staff.models import StaffUser
from backend.staff.passwords import verify_password
from backend.types import utcnow
from tests.backend import factories
from tests.backend.api.console_client import Console, make_user

OpenConsole = Callable[..., Console]

_ROW = re.compile(r'<tr class="([^"]*)" data-handoff="(\d+)">(.*?)</tr>', re.S)
_OFFER = re.compile(r'<li>(.*?)name="offer_id" value="([^"]+)"', re.S)
_TAG = re.compile(r"<[^>]+>")
_MESSAGE_ID = re.compile(r'<li class="msg \w+" data-id="(\d+)">')


# -- building chats ------------------------------------------------------------------------------


def waiting_chat(
    db: Session,
    user_id: str = "42",
    *,
    reason: str = "borrower_request",
    waited: timedelta = timedelta(minutes=1),
    disbursed_on: date = date(2026, 1, 15),
    verified: bool = True,
) -> Handoff:
    """A chat handed to a person `waited` ago: borrower B-<user_id> with loan L-<user_id>
    (an unverified chat has no borrower)."""
    who = None
    if verified:
        who = factories.borrower(db, ref=f"B-{user_id}")
        factories.loan(db, ref=f"L-{user_id}", who=who, disbursed_on=disbursed_on)
    conversation = factories.conversation(db, who=who, user_id=user_id)
    handoff = factories.handoff(
        db, conversation=conversation, reason=reason, created_at=utcnow() - waited
    )
    db.commit()
    return handoff


def take(console: Console, handoff: Handoff) -> httpx.Response:
    """Take the chat from the inbox as a collector does; the chat page it opens."""
    console.get("/console/inbox")
    return console.follow(console.post(f"/console/handoffs/{handoff.id}/take"))


def outbox(db: Session, handoff: Handoff) -> list[OutboundMessage]:
    return list(
        db.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.conversation_id == handoff.conversation_id)
            .order_by(OutboundMessage.id)
        )
    )


def queue_rows(page: str) -> dict[int, tuple[str, str]]:
    """The inbox's rows in page order: handoff id -> (row classes, row HTML)."""
    return {int(found[2]): (found[1], found[3]) for found in _ROW.finditer(page)}


def offers_on(page: str) -> list[tuple[str, str]]:
    """The plan offers the chat page lists, in its order: (what the row says, offer id)."""
    return [(" ".join(_TAG.sub(" ", m[1]).split()), m[2]) for m in _OFFER.finditer(page)]


def offer_id(page: str, *words: str) -> str:
    """The first offer on the page whose row says all these words."""
    return next(found for said, found in offers_on(page) if all(w in said for w in words))


def audited(db: Session, subject: str) -> int:
    return db.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.subject == subject)) or 0


@pytest.fixture
def ann(open_console: OpenConsole) -> Console:
    return open_console("ann", "collector")


@pytest.fixture
def chat(db: Session, ann: Console) -> Handoff:
    """Ann has taken the chat of L-42's borrower from the inbox."""
    handoff = waiting_chat(db)
    take(ann, handoff)
    return handoff


@pytest.fixture
def late_chat(db: Session, ann: Console) -> Handoff:
    """Ann has taken the chat of L-77's borrower: 121 days past due, settlements only."""
    handoff = waiting_chat(db, "77", disbursed_on=date(2025, 11, 1))
    take(ann, handoff)
    return handoff


# -- the inbox -----------------------------------------------------------------------------------


class TestInbox:
    def test_distress_comes_first_then_disputes_and_complaints_then_the_rest_longest_wait_first(
        self, db: Session, ann: Console
    ):
        newer = waiting_chat(db, "1", waited=timedelta(minutes=20))
        older = waiting_chat(db, "2", waited=timedelta(minutes=30))
        complaint = waiting_chat(db, "3", reason="complaint", waited=timedelta(minutes=10))
        dispute = waiting_chat(db, "4", reason="dispute", waited=timedelta(minutes=15))
        distress = waiting_chat(db, "5", reason="distress", waited=timedelta(minutes=1))
        rows = queue_rows(ann.get("/console/inbox").text)
        assert list(rows) == [distress.id, dispute.id, complaint.id, older.id, newer.id]
        assert "prio-urgent" in rows[distress.id][0]
        assert "prio-high" in rows[dispute.id][0]
        assert "prio-normal" in rows[newer.id][0]

    def test_a_row_shows_reason_language_bucket_overdue_and_waiting_time(
        self, db: Session, ann: Console
    ):
        handoff = waiting_chat(db, reason="dispute", waited=timedelta(minutes=3, seconds=20))
        _, row = queue_rows(ann.get("/console/inbox").text)[handoff.id]
        assert "dispute" in row
        assert "王芳" in row and "B-42" in row
        assert "<td>Chinese</td>" in row
        assert "31-60" in row and "(45d)" in row
        assert "2,261.79 CNY" in row
        assert re.search(r">3 min \d\d s<", row), row  # 3 min 20 s ago, ticking

    def test_a_chat_waiting_longer_than_the_sla_is_highlighted(
        self, db: Session, ann: Console, settings: Settings
    ):
        sla = timedelta(minutes=settings.handoff_sla_minutes)
        late = waiting_chat(db, "1", waited=sla + timedelta(minutes=1))
        in_time = waiting_chat(db, "2", waited=sla - timedelta(minutes=1))
        rows = queue_rows(ann.get("/console/inbox").text)
        assert "over-sla" in rows[late.id][0].split()
        assert "over SLA" in rows[late.id][1]
        assert "over-sla" not in rows[in_time.id][0].split()

    def test_the_queue_answers_304_to_its_own_etag_and_200_once_a_new_chat_waits(
        self, db: Session, ann: Console
    ):
        first = waiting_chat(db, "1")
        page = ann.get("/console/inbox/queue")
        assert page.status_code == 200
        etag = page.headers["etag"]
        unchanged = ann.get("/console/inbox/queue", headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        second = waiting_chat(db, "2")
        changed = ann.get("/console/inbox/queue", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert list(queue_rows(changed.text)) == [first.id, second.id]

    def test_an_unverified_chat_shows_no_borrower_and_no_figures(self, db: Session, ann: Console):
        handoff = waiting_chat(db, "7", verified=False)
        handoff.conversation.language = "en"
        db.commit()
        _, row = queue_rows(ann.get("/console/inbox").text)[handoff.id]
        assert "not verified" in row
        assert "<td>English</td>" in row
        assert "CNY" not in row
        assert "<td>–</td>" in row  # no bucket

    def test_a_chat_someone_else_took_first_sends_the_collector_back_with_a_word(
        self, db: Session, ann: Console, open_console: OpenConsole
    ):
        handoff = waiting_chat(db)
        ann.get("/console/inbox")
        take(open_console("bob", "collector"), handoff)
        refused = ann.post(f"/console/handoffs/{handoff.id}/take")
        assert refused.headers["location"].startswith("/console/inbox?taken_elsewhere=")
        assert "taken by someone else" in ann.follow(refused).text
        assert handoff.taken_by == "bob"


# -- taking a chat, the transcript, replying -----------------------------------------------------


class TestTakingAChat:
    def test_the_chat_page_shows_the_transcript_with_intents_and_the_loan_figures(
        self, db: Session, ann: Console
    ):
        handoff = waiting_chat(db)
        log_messages(
            db,
            conversation=handoff.conversation,
            messages=[
                NewMessage(sender="bot", text="您好，请问有什么可以帮您？"),
                NewMessage(
                    sender="borrower", text="我下周还", intent="promise_to_pay", confidence=0.87
                ),
            ],
        )
        db.commit()
        page = take(ann, handoff).text
        assert (handoff.status, handoff.taken_by) == ("taken", "ann")
        assert "You have the chat." in page
        assert "您好，请问有什么可以帮您？" in page
        assert "我下周还" in page
        assert "promise_to_pay 87%" in page
        assert "45 days past due · 31-60" in page
        assert '<th>Total outstanding</th><td class="num">12,359.95 CNY</td>' in page
        assert '<th>Overdue</th><td class="num">2,261.79 CNY</td>' in page
        assert '<th>Payoff today</th><td class="num">12,415.33 CNY</td>' in page

    def test_the_borrower_is_told_a_person_joined_by_the_collectors_name(
        self, db: Session, console_app: FastAPI
    ):
        handoff = waiting_chat(db)
        make_user(db, "li.na", "collector", name="Li Na")
        console = Console(console_app)
        console.login("li.na")
        take(console, handoff)
        [joined] = outbox(db, handoff)
        assert (joined.sender, joined.text) == ("system", "客服Li Na已接入，请问有什么可以帮您？")

    def test_the_chat_heading_shows_the_borrowers_language(self, db: Session, ann: Console):
        page = take(ann, waiting_chat(db)).text
        heading = page.split('<div class="heading">')[1].split("</div>")[0]
        assert "telegram · Chinese" in heading

    def test_an_unverified_chat_shows_no_loan_and_no_loan_actions(self, db: Session, ann: Console):
        page = take(ann, waiting_chat(db, "7", verified=False)).text
        assert "This chat has not proven it is the borrower" in page
        assert "/payment-link" not in page
        assert "/promise" not in page
        assert "/note" in page  # a note may still be kept on the chat


class TestReplying:
    def test_a_reply_goes_to_the_borrower_as_the_collectors(
        self, db: Session, ann: Console, chat: Handoff
    ):
        sent = ann.post(f"/console/handoffs/{chat.id}/reply", {"text": " 您好，我是客服。 "})
        assert sent.headers["location"] == f"/console/handoffs/{chat.id}?done=reply"
        reply = outbox(db, chat)[-1]
        assert (reply.sender, reply.author, reply.text) == ("collector", "ann", "您好，我是客服。")
        assert reply.status == "pending"
        page = ann.follow(sent).text
        assert "Sent." in page
        assert "Collector · ann" in page and "您好，我是客服。" in page

    def test_new_messages_are_only_those_after_the_pages_last_one(
        self, db: Session, ann: Console, chat: Handoff
    ):
        page = ann.get(f"/console/handoffs/{chat.id}").text
        last = int(_MESSAGE_ID.findall(page)[-1])
        quiet = ann.get(f"/console/handoffs/{chat.id}/messages?after={last}")
        assert quiet.status_code == 204
        assert quiet.headers["x-handoff-status"] == "taken"
        log_messages(
            db,
            conversation=chat.conversation,
            messages=[NewMessage(sender="borrower", text="还在吗？", intent="ask_human")],
        )
        db.commit()
        news = ann.get(f"/console/handoffs/{chat.id}/messages?after={last}")
        assert news.status_code == 200
        assert "还在吗？" in news.text and "ask_human" in news.text
        assert "已接入" not in news.text  # the message the page already shows
        newest = int(_MESSAGE_ID.findall(news.text)[-1])
        assert ann.get(f"/console/handoffs/{chat.id}/messages?after={newest}").status_code == 204

    def test_a_cursor_from_another_chat_asks_the_page_to_reload(
        self, db: Session, ann: Console, chat: Handoff
    ):
        other = waiting_chat(db, "8")
        [foreign] = log_messages(
            db, conversation=other.conversation, messages=[NewMessage(sender="bot", text="hi")]
        )
        db.commit()
        response = ann.get(f"/console/handoffs/{chat.id}/messages?after={foreign.id}")
        assert response.status_code == 409


class TestWhatsAppWindow:
    """WhatsApp carries a free-form message only within 24 hours of the borrower's last one:
    after that the chat page offers the approved template, and a reply is refused saying so."""

    def quiet_chat(self, db: Session, ann: Console, hours: float) -> Handoff:
        who = factories.borrower(db, ref="B-WA")
        conversation = factories.conversation(db, who=who, channel="whatsapp", user_id="6591234567")
        wrote = utcnow() - timedelta(hours=hours)
        db.add(
            Message(conversation_id=conversation.id, sender="borrower", text="人工", sent_at=wrote)
        )
        handoff = factories.handoff(db, conversation=conversation)
        db.commit()
        take(ann, handoff)
        return handoff

    def test_after_a_day_the_page_offers_the_template_and_a_reply_is_refused(
        self, db: Session, ann: Console
    ):
        chat = self.quiet_chat(db, ann, hours=26)
        page = ann.get(f"/console/handoffs/{chat.id}").text
        assert 'id="whatsapp-template"' in page and "您好，我们的客服有消息给您" in page
        refused = ann.post(f"/console/handoffs/{chat.id}/reply", {"text": "您好"})
        assert refused.status_code == 409
        assert "Send the approved template instead" in refused.text
        assert 'id="whatsapp-template"' in refused.text
        sent = ann.post(f"/console/handoffs/{chat.id}/whatsapp-template", {})
        assert sent.headers["location"] == f"/console/handoffs/{chat.id}?done=template"
        row = outbox(db, chat)[-1]
        assert row.template == {"name": "collector_follow_up", "language": "zh_CN", "params": []}
        assert (row.sender, row.author) == ("collector", "ann")
        assert "Template sent" in ann.follow(sent).text

    def test_within_the_day_there_is_no_template_to_send(self, db: Session, ann: Console):
        chat = self.quiet_chat(db, ann, hours=2)
        page = ann.get(f"/console/handoffs/{chat.id}").text
        assert 'id="whatsapp-template"' not in page
        assert ann.post(f"/console/handoffs/{chat.id}/whatsapp-template", {}).status_code == 409
        replied = ann.post(f"/console/handoffs/{chat.id}/reply", {"text": "您好"})
        assert replied.status_code == 303


# -- acting for the borrower ---------------------------------------------------------------------


class TestPaymentLink:
    def test_a_link_for_what_is_due_now_goes_to_the_borrower(
        self, db: Session, ann: Console, chat: Handoff
    ):
        sent = ann.post(f"/console/handoffs/{chat.id}/payment-link", {"loan_ref": "L-42"})
        assert sent.headers["location"] == f"/console/handoffs/{chat.id}?done=link"
        link = db.scalars(select(PaymentLink)).one()
        assert link.amount_minor == 226_179
        message = outbox(db, chat)[-1]
        assert (message.sender, message.author) == ("collector", "ann")
        assert message.text.startswith("这是您的还款链接，金额 2261.79 CNY：\nhttp://testserver/")
        assert link.token in message.text
        assert "Payment link sent." in ann.follow(sent).text

    def test_the_amount_the_collector_names(self, db: Session, ann: Console, chat: Handoff):
        ann.post(f"/console/handoffs/{chat.id}/payment-link", {"loan_ref": "L-42", "amount": "500"})
        assert db.scalars(select(PaymentLink.amount_minor)).one() == 50_000

    def test_another_borrowers_loan_is_refused_on_the_page(
        self, db: Session, ann: Console, chat: Handoff
    ):
        waiting_chat(db, "9")  # L-9, of another borrower
        before = len(outbox(db, chat))
        refused = ann.post(f"/console/handoffs/{chat.id}/payment-link", {"loan_ref": "L-9"})
        assert refused.status_code == 404
        assert "Not done: no loan &#39;L-9&#39; for this borrower" in refused.text
        assert db.scalars(select(PaymentLink)).all() == []
        assert len(outbox(db, chat)) == before


class TestPlans:
    def test_presenting_the_offers_lists_them_to_the_borrower(
        self, db: Session, ann: Console, chat: Handoff
    ):
        sent = ann.post(f"/console/handoffs/{chat.id}/offers", {"loan_ref": "L-42"})
        assert sent.headers["location"] == f"/console/handoffs/{chat.id}?done=offers"
        lines = outbox(db, chat)[-1].text.split("\n")
        assert lines[0] == "借款 L-42 目前可以办理以下还款方案："
        assert lines[1].startswith("1. 分3期：")
        assert lines[2].startswith("2. 分6期：")
        assert lines[3].startswith("3. 分12期：")

    def test_accepting_an_installment_plan_starts_an_arrangement(
        self, db: Session, ann: Console, chat: Handoff
    ):
        page = ann.get(f"/console/handoffs/{chat.id}").text
        said, first = offers_on(page)[0]
        assert "installment" in said and "12,597.30 CNY" in said
        accepted = ann.post(
            f"/console/handoffs/{chat.id}/offers/accept", {"loan_ref": "L-42", "offer_id": first}
        )
        assert accepted.headers["location"] == f"/console/handoffs/{chat.id}?done=arrangement"
        arrangement = db.scalars(select(Arrangement)).one()
        assert (arrangement.kind, arrangement.agreed_by) == ("installment", "collector:ann")
        assert arrangement.conversation_id == chat.conversation_id
        told = outbox(db, chat)[-1]
        assert told.text.startswith("您借款 L-42 的分期还款方案已生效，共还 12597.30 CNY。")
        after = ann.follow(accepted).text
        assert "Arrangement agreed; the borrower is told." in after
        assert "Arrangements (1)" in after

    def test_a_settlement_beyond_the_assistants_authority_waits_for_a_supervisor(
        self, db: Session, ann: Console, late_chat: Handoff, open_console: OpenConsole
    ):
        page = ann.get(f"/console/handoffs/{late_chat.id}").text
        bigger = offer_id(page, "settlement", "9,632.78 CNY", "1 payment(s)")
        asked = ann.post(
            f"/console/handoffs/{late_chat.id}/offers/accept",
            {"loan_ref": "L-77", "offer_id": bigger},
        )
        assert asked.headers["location"] == f"/console/handoffs/{late_chat.id}?done=approval"
        request = db.scalars(select(ApprovalRequest)).one()
        assert (request.status, request.requested_by, request.parts) == (
            "pending",
            "collector:ann",
            1,
        )
        assert db.scalars(select(Arrangement)).all() == []
        assert "需要主管审批" in outbox(db, late_chat)[-1].text
        assert (
            "Settlement waiting for a supervisor: 9,632.78 CNY (3,210.93 CNY off)"
            in ann.follow(asked).text
        )

        sue = open_console("sue", "supervisor")
        approvals = sue.get("/console/approvals").text
        assert f'data-approval="{request.id}"' in approvals
        row = approvals.split(f'data-approval="{request.id}"')[1].split("</tr>")[0]
        assert "<td>L-77</td>" in row
        assert '<td class="num">9,632.78 CNY</td>' in row  # what the borrower pays in all
        assert '<td class="num">3,210.93 CNY (25%)</td>' in row
        decided = sue.post(f"/console/approvals/{request.id}/approve", {"note": "ok"})
        assert decided.headers["location"] == "/console/approvals?done=decided"
        assert (request.status, request.decided_by) == ("approved", "sue")
        arrangement = db.scalars(select(Arrangement)).one()
        assert (arrangement.kind, arrangement.agreed_by) == ("settlement", "supervisor:sue")
        told = outbox(db, late_chat)[-1]
        assert told.sender == "system"
        assert told.text.startswith("好消息：您借款 L-77 的减免结清申请已获批准。共还 9632.78 CNY")
        assert "Nothing is waiting." in sue.follow(decided).text

    def test_a_supervisor_rejects_a_settlement_and_the_borrower_is_told(
        self, db: Session, ann: Console, late_chat: Handoff, open_console: OpenConsole
    ):
        page = ann.get(f"/console/handoffs/{late_chat.id}").text
        bigger = offer_id(page, "settlement", "9,632.78 CNY")
        ann.post(
            f"/console/handoffs/{late_chat.id}/offers/accept",
            {"loan_ref": "L-77", "offer_id": bigger},
        )
        request = db.scalars(select(ApprovalRequest)).one()
        sue = open_console("sue", "supervisor")
        sue.get("/console/approvals")
        decided = sue.post(f"/console/approvals/{request.id}/reject", {"note": "too much"})
        assert decided.status_code == 303
        assert (request.status, request.note) == ("rejected", "too much")
        assert db.scalars(select(Arrangement)).all() == []
        told = outbox(db, late_chat)[-1]
        assert told.text.startswith(
            "很抱歉，您借款 L-77 的减免结清申请（共还 9632.78 CNY）未获批准。"
        )
        again = sue.post(f"/console/approvals/{request.id}/approve")
        assert again.status_code == 409
        assert "this request was already rejected" in again.text


class TestPromise:
    def test_a_promise_is_recorded_as_the_collectors_and_confirmed_to_the_borrower(
        self, db: Session, ann: Console, chat: Handoff
    ):
        recorded = ann.post(
            f"/console/handoffs/{chat.id}/promise",
            {"loan_ref": "L-42", "amount": "500.00", "promised_date": "2026-04-10"},
        )
        assert recorded.headers["location"] == f"/console/handoffs/{chat.id}?done=promise"
        promise = db.scalars(select(Promise)).one()
        assert (promise.amount_minor, promise.promised_date) == (50_000, date(2026, 4, 10))
        assert (promise.source, promise.recorded_by) == ("collector", "ann")
        assert outbox(db, chat)[-1].text.startswith(
            "已为您记录还款承诺：借款 L-42，2026-04-10 前还款 500.00 CNY。"
        )
        page = ann.follow(recorded).text
        assert "Promises to pay (1)" in page
        assert "collector · ann" in page

    def test_the_date_picker_allows_the_policys_window_only(self, ann: Console, chat: Handoff):
        page = ann.get(f"/console/handoffs/{chat.id}").text
        assert 'min="2026-04-01" max="2026-04-15"' in page

    def test_a_promise_outside_policy_shows_the_error_and_writes_nothing(
        self, db: Session, ann: Console, chat: Handoff
    ):
        before = len(outbox(db, chat))
        refused = ann.post(
            f"/console/handoffs/{chat.id}/promise",
            {"loan_ref": "L-42", "amount": "500.00", "promised_date": "2026-04-30"},
        )
        assert refused.status_code == 422
        assert 'class="flash error"' in refused.text
        assert "Not done:" in refused.text
        assert db.scalars(select(Promise)).all() == []
        assert len(outbox(db, chat)) == before
        assert audited(db, f"handoff {chat.id}: promise L-42") == 0


class TestCases:
    def test_a_dispute_on_a_loan_is_recorded_and_the_borrower_told(
        self, db: Session, ann: Console, chat: Handoff
    ):
        opened = ann.post(
            f"/console/handoffs/{chat.id}/case",
            {"kind": "dispute", "loan_ref": "L-42", "details": "says it was never paid out"},
        )
        assert opened.headers["location"] == f"/console/handoffs/{chat.id}?done=case"
        case = db.scalars(select(Case)).one()
        loan = db.scalars(select(Loan).where(Loan.ref == "L-42")).one()
        assert (case.kind, case.status, case.loan_id, case.hold) == (
            "dispute",
            "open",
            loan.id,
            False,
        )
        assert outbox(db, chat)[-1].text == (
            f"已为您登记异议（编号 {case.id}）。核实期间，我们会暂停对借款 L-42 的催收联系。"
        )
        assert "says it was never paid out" in ann.follow(opened).text

    def test_a_hardship_with_a_hold_pauses_contact(self, db: Session, ann: Console, chat: Handoff):
        ann.post(
            f"/console/handoffs/{chat.id}/case",
            {"kind": "hardship", "loan_ref": "", "details": "lost her job", "hold": "true"},
        )
        case = db.scalars(select(Case)).one()
        assert (case.kind, case.hold, case.loan_id) == ("hardship", True, None)
        assert "跟进期间，我们会暂停就您名下所有借款主动联系您" in outbox(db, chat)[-1].text
        ann.post(f"/console/handoffs/{chat.id}/close", {"note": ""})
        borrower_id = chat.conversation.borrower_id
        assert borrower_id is not None
        hold = proactive_contact_hold(db, borrower_id=borrower_id, channel="telegram")
        assert hold == "hardship_hold"


class TestNotes:
    def test_a_note_is_kept_not_sent_and_shown_on_the_page(
        self, db: Session, ann: Console, chat: Handoff
    ):
        before = len(outbox(db, chat))
        saved = ann.post(f"/console/handoffs/{chat.id}/note", {"text": "prefers <b>evenings</b>"})
        assert saved.headers["location"] == f"/console/handoffs/{chat.id}?done=note"
        note = db.scalars(select(Note)).one()
        assert (note.author, note.text, note.handoff_id) == (
            "ann",
            "prefers <b>evenings</b>",
            chat.id,
        )
        assert len(outbox(db, chat)) == before
        page = ann.follow(saved).text
        assert "Note saved." in page
        assert "prefers &lt;b&gt;evenings&lt;/b&gt;" in page

    def test_a_blank_note_is_refused_on_the_page(self, db: Session, ann: Console, chat: Handoff):
        refused = ann.post(f"/console/handoffs/{chat.id}/note", {"text": "   "})
        assert refused.status_code == 422
        assert "Not done:" in refused.text
        assert db.scalars(select(Note)).all() == []


class TestTransfer:
    def test_the_chat_passes_to_a_colleague_and_the_first_collector_loses_it(
        self, db: Session, ann: Console, chat: Handoff, console_app: FastAPI
    ):
        make_user(db, "bob", "collector", name="Bob Li")
        page = ann.get(f"/console/handoffs/{chat.id}").text
        assert '<option value="bob">Bob Li (collector)</option>' in page
        moved = ann.post(f"/console/handoffs/{chat.id}/transfer", {"to": "bob"})
        assert moved.headers["location"] == "/console/inbox?done=transfer"
        assert (chat.status, chat.taken_by) == ("taken", "bob")
        told = outbox(db, chat)[-1]
        assert (told.sender, told.text) == ("system", "客服Bob Li已接入，请问有什么可以帮您？")
        assert ann.get(f"/console/handoffs/{chat.id}").status_code == 404
        assert ann.post(f"/console/handoffs/{chat.id}/reply", {"text": "hi"}).status_code == 404
        bob = Console(console_app)
        bob.login("bob")
        assert bob.get(f"/console/handoffs/{chat.id}").status_code == 200
        assert (
            bob.post(f"/console/handoffs/{chat.id}/reply", {"text": "我是 Bob"}).status_code == 303
        )

    def test_an_operations_user_cannot_receive_a_chat(
        self, db: Session, ann: Console, chat: Handoff
    ):
        make_user(db, "olga", "operations")
        refused = ann.post(f"/console/handoffs/{chat.id}/transfer", {"to": "olga"})
        assert refused.status_code == 422
        assert "a operations does not work chats" in refused.text
        assert chat.taken_by == "ann"


class TestClose:
    def test_closing_hands_the_chat_back_to_the_bot(self, db: Session, ann: Console, chat: Handoff):
        closed = ann.post(f"/console/handoffs/{chat.id}/close", {"note": "will pay Friday"})
        assert closed.headers["location"] == f"/console/handoffs/{chat.id}?done=closed"
        assert (chat.status, chat.close_note) == ("closed", "will pay Friday")
        assert chat.conversation.mode == "bot"
        told = outbox(db, chat)[-1]
        assert (told.sender, told.resume_bot) == ("system", True)
        assert told.text.startswith("已转回智能助手。")
        page = ann.follow(closed).text
        assert "closed: back with the bot" in page
        assert f'action="/console/handoffs/{chat.id}/reply"' not in page
        inbox = ann.get("/console/inbox").text
        assert inbox.index("Recently closed") < inbox.index(f'data-handoff="{chat.id}"')

    def test_nothing_more_can_be_done_in_a_closed_chat(
        self, db: Session, ann: Console, chat: Handoff
    ):
        ann.post(f"/console/handoffs/{chat.id}/close")
        before = len(outbox(db, chat))
        refused = ann.post(f"/console/handoffs/{chat.id}/reply", {"text": "one more thing"})
        assert refused.status_code == 409
        assert len(outbox(db, chat)) == before


# -- the user's language -------------------------------------------------------------------------


class TestLanguage:
    def test_a_chinese_user_reads_chinese_labels(self, db: Session, open_console: OpenConsole):
        handoff = waiting_chat(db)
        li = open_console("li", "collector", language="zh")
        inbox = li.get("/console/inbox").text
        assert "转人工队列" in inbox
        assert "要求人工" in inbox  # the reason
        page = take(li, handoff).text
        assert "聊天记录" in page and "未还总额" in page

    def test_switching_language_changes_the_labels(self, db: Session, ann: Console):
        assert "Handoff inbox" in ann.get("/console/inbox").text
        switched = ann.post(
            "/console/account/language", {"language": "zh", "back": "/console/inbox"}
        )
        assert switched.headers["location"] == "/console/inbox"
        assert "转人工队列" in ann.follow(switched).text
        user = db.scalars(select(StaffUser).where(StaffUser.username == "ann")).one()
        assert user.language == "zh"
        ann.post("/console/account/language", {"language": "en", "back": "/console/inbox"})
        assert "Handoff inbox" in ann.get("/console/inbox").text


# -- users ---------------------------------------------------------------------------------------


class TestUsers:
    def test_an_admin_creates_a_user_who_can_then_log_in(
        self, db: Session, open_console: OpenConsole, console_app: FastAPI
    ):
        admin = open_console("root", "admin")
        admin.get("/console/users")
        created = admin.post(
            "/console/users",
            {
                "username": "Carol",
                "display_name": "Carol Wu",
                "role": "supervisor",
                "language": "zh",
                "password": "a-long-enough-secret",
            },
        )
        assert created.headers["location"] == "/console/users?done=user"
        assert 'data-user="carol"' in admin.follow(created).text
        carol = Console(console_app)
        assert carol.login("carol", "a-long-enough-secret").status_code == 303
        assert "待审批的减免结清" in carol.get("/console/approvals").text

    def test_a_weak_password_is_refused_with_a_message(
        self, db: Session, open_console: OpenConsole
    ):
        admin = open_console("root", "admin")
        admin.get("/console/users")
        refused = admin.post(
            "/console/users",
            {
                "username": "carol",
                "display_name": "Carol",
                "role": "collector",
                "language": "en",
                "password": "short",
            },
        )
        assert refused.status_code == 422
        assert "Not done: a password has at least 12 characters." in refused.text
        assert db.scalars(select(StaffUser).where(StaffUser.username == "carol")).all() == []


# -- the create-user command and the demo users ---------------------------------------------------


@pytest.fixture
def database_file(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated SQLite file the command line works on, named by DATABASE_URL."""
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    cli.main(argv)


@contextmanager
def stored(url: str) -> Iterator[Session]:
    """A session on what the command wrote."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def console_on(url: str, settings: Settings) -> Console:
    """The console of an app on that database, as deployed (no test session)."""
    return Console(create_app(settings.model_copy(update={"database_url": url})))


class TestCreateUserCommand:
    def test_the_user_is_created_and_can_log_in(
        self,
        database_file: str,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ):
        run_cli(
            monkeypatch,
            [
                "create-user",
                "dora",
                "--role",
                "collector",
                "--name",
                "Dora Xu",
                "--language",
                "zh",
                "--password-stdin",
            ],
            "a-long-enough-secret\n",
        )
        assert capsys.readouterr().out == "user dora (collector) created\n"
        with stored(database_file) as session:
            user = session.scalars(select(StaffUser)).one()
            assert (user.display_name, user.role, user.language) == ("Dora Xu", "collector", "zh")
            assert verify_password("a-long-enough-secret", user.password_hash)
            actors = session.scalars(select(AuditEntry.actor)).all()
            assert actors == ["cli"]
        console = console_on(database_file, settings)
        assert console.login("dora", "a-long-enough-secret").status_code == 303
        assert "转人工队列" in console.get("/console/inbox").text

    def test_a_weak_password_is_refused_and_nobody_is_created(
        self, database_file: str, monkeypatch: pytest.MonkeyPatch
    ):
        with pytest.raises(SystemExit) as refused:
            run_cli(
                monkeypatch,
                ["create-user", "dora", "--role", "collector", "--password-stdin"],
                "short\n",
            )
        assert refused.value.code == "a password has at least 12 characters"
        with stored(database_file) as session:
            assert session.scalars(select(StaffUser)).all() == []

    def test_a_guessable_password_is_refused_too(
        self, database_file: str, monkeypatch: pytest.MonkeyPatch
    ):
        with pytest.raises(SystemExit) as refused:
            run_cli(
                monkeypatch,
                ["create-user", "dora", "--role", "admin", "--password-stdin"],
                "password1234\n",
            )
        assert "may not be a common password" in str(refused.value.code)
        with stored(database_file) as session:
            assert session.scalars(select(StaffUser)).all() == []


class TestDemoUsers:
    def test_an_empty_console_gets_the_demo_users_once(self, db: Session, console_app: FastAPI):
        assert seed_demo_users(db) is True
        db.commit()
        assert seed_demo_users(db) is False
        names = db.scalars(select(StaffUser.username).order_by(StaffUser.username)).all()
        assert names == sorted(u[0] for u in DEMO_USERS)
        console = Console(console_app)
        assert console.login("collector.zh", DEMO_PASSWORD).status_code == 303
        assert "转人工队列" in console.get("/console/inbox").text

    def test_a_console_with_a_user_gets_none(self, db: Session):
        make_user(db, "ann", "collector")
        assert seed_demo_users(db) is False
        assert db.scalars(select(StaffUser.username)).all() == ["ann"]

    def test_the_seed_command_creates_them_on_the_first_run_only(
        self,
        database_file: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ):
        run_cli(monkeypatch, ["seed-demo"])
        assert "demo console users created" in capsys.readouterr().out
        run_cli(monkeypatch, ["seed-demo"])
        assert "demo console users created" not in capsys.readouterr().out
        with stored(database_file) as session:
            assert session.scalar(select(func.count(StaffUser.id))) == len(DEMO_USERS)

    def test_production_refuses_the_seed_command(
        self,
        database_file: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ):
        monkeypatch.setenv("APP_ENV", "production")
        for name in ("SERVICE_TOKEN", "ID_HASH_KEY", "RASA_TOKEN"):
            monkeypatch.setenv(name, secrets.token_hex(32))
        get_settings.cache_clear()
        with pytest.raises(SystemExit) as refused:
            run_cli(monkeypatch, ["seed-demo"])
        assert str(refused.value.code).startswith("production refuses seed-demo")
        assert capsys.readouterr().out == ""
        with stored(database_file) as session:
            assert session.scalars(select(StaffUser)).all() == []
            assert session.scalars(select(Borrower)).all() == []
