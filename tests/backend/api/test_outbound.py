"""The outbox: messages to borrowers queued by the backend (a collector's reply, handoff notices,
a supervisor's decision) and delivered by the gateway: claim, lease, report, retry."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import Settings
from backend.conversations.models import Conversation
from backend.conversations.service import get_or_create
from backend.ledger.models import Loan
from backend.outbound import service
from backend.outbound.models import OutboundMessage
from backend.types import utcnow
from tests.backend import factories
from tests.backend.api.committed import committing_clients, remove_chats

CHAT = "/api/v1/conversations/telegram/42"


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def queue(client: TestClient, text: str = "hello", chat: str = CHAT, **extra: Any) -> Any:
    r = client.post(f"{chat}/outbound", json={"text": text, "sender": "system", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def claim(client: TestClient, limit: int = 50, lease_seconds: int = 60, **extra: Any) -> list[Any]:
    body = {"limit": limit, "lease_seconds": lease_seconds, **extra}
    r = client.post("/api/v1/outbound/claim", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def report(client: TestClient, outbound_id: int, status: str, **extra: Any) -> Any:
    return client.post(f"/api/v1/outbound/{outbound_id}/delivery", json={"status": status, **extra})


def open_chat(client: TestClient, chat: str = CHAT) -> None:
    assert client.post(f"{chat}/inbound", json={"text": "hi"}).status_code == 200


def age(db: Session, *, lease: bool = False, wait: bool = False) -> None:
    """Move time on: leases run out, waits for a retry are over."""
    past = utcnow() - timedelta(seconds=1)
    if lease:
        db.execute(update(OutboundMessage).values(lease_until=past))
    if wait:
        db.execute(update(OutboundMessage).values(next_attempt_at=past))
    db.commit()


def handoff_taken(client: TestClient, collector: str = "alice", chat: str = CHAT) -> int:
    handoff = client.post(f"{chat}/handoffs", json={"reason": "borrower_request"}).json()
    taken = client.post(f"/api/v1/handoffs/{handoff['id']}/take", json={"collector": collector})
    assert taken.status_code == 200
    return int(handoff["id"])


class TestQueueing:
    def test_a_message_is_logged_in_the_transcript_and_queued(self, client: TestClient) -> None:
        open_chat(client)
        buttons = [{"title": "Pay now", "payload": "/pay"}]
        body = queue(client, "Your link is ready", buttons=buttons)
        assert (body["status"], body["attempts"], body["sender"]) == ("pending", 0, "system")
        assert (body["channel"], body["user_id"], body["buttons"]) == ("telegram", "42", buttons)
        assert body["lease_until"] is None and body["delivered_at"] is None
        last = client.get(f"{CHAT}/messages").json()["messages"][-1]
        assert (last["id"], last["sender"], last["text"], last["buttons"]) == (
            body["message_id"],
            "system",
            "Your link is ready",
            buttons,
        )
        assert client.get(f"/api/v1/outbound/{body['id']}").json() == body

    def test_a_chat_that_does_not_exist_gets_nothing(self, client: TestClient) -> None:
        r = client.post(f"{CHAT}/outbound", json={"text": "hi", "sender": "system"})
        assert r.status_code == 404
        assert client.get(CHAT).status_code == 404  # not opened by the backend either

    def test_only_a_collector_or_the_system_sends(self, client: TestClient) -> None:
        open_chat(client)
        r = client.post(f"{CHAT}/outbound", json={"text": "hi", "sender": "bot"})
        assert (r.status_code, r.json()["code"]) == (422, "unknown_sender")
        assert (
            client.post(f"{CHAT}/outbound", json={"text": "", "sender": "system"}).status_code
            == 422
        )

    def test_the_chats_outbox_is_listed_newest_first(self, client: TestClient) -> None:
        open_chat(client)
        first, second = queue(client, "one"), queue(client, "two")
        listed = client.get(f"{CHAT}/outbound").json()
        assert [m["id"] for m in listed] == [second["id"], first["id"]]
        assert client.get("/api/v1/conversations/telegram/7/outbound").status_code == 404

    def test_queueing_to_a_verified_chat_is_audited(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        factories.conversation(db, who=loan.borrower)
        db.commit()
        body = queue(client)
        entry = db.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.borrower_id, entry.subject) == (
            "create",
            loan.borrower_id,
            f"outbound message {body['id']}",
        )


class TestClaimAndDeliver:
    def test_a_queued_message_is_claimed_delivered_and_not_claimed_again(
        self, client: TestClient
    ) -> None:
        client.put(CHAT, json={"language": "en"})
        queued = queue(client, "hello", buttons=[{"title": "A", "payload": "/a"}])
        [item] = claim(client, lease_seconds=30)
        assert item == {
            "id": queued["id"],
            "channel": "telegram",
            "user_id": "42",
            "message_id": queued["message_id"],
            "text": "hello",
            "buttons": [{"title": "A", "payload": "/a"}],
            "sender": "system",
            "author": None,
            "resume_bot": False,
            "attempts": 1,
            "language": "en",
            "borrower_last_at": None,  # WhatsApp's window only
            "template": None,  # WhatsApp only
        }
        leased = client.get(f"/api/v1/outbound/{item['id']}").json()
        assert 25 < (when(leased["lease_until"]) - utcnow()).total_seconds() <= 30
        assert claim(client) == []  # leased to the first gateway
        r = report(client, item["id"], "delivered", channel_message_id="501")
        assert r.status_code == 200, r.text
        done = r.json()
        assert (done["status"], done["channel_message_id"], done["lease_until"]) == (
            "delivered",
            "501",
            None,
        )
        assert done["delivered_at"] is not None
        assert claim(client) == []

    def test_the_same_final_report_twice_is_harmless_and_a_different_one_refused(
        self, client: TestClient
    ) -> None:
        open_chat(client)
        queued = queue(client)
        claim(client)
        first = report(client, queued["id"], "delivered", channel_message_id="9").json()
        again = report(client, queued["id"], "delivered", channel_message_id="9")
        assert (again.status_code, again.json()) == (200, first)
        for status in ("failed", "stored", "retry"):
            r = report(client, queued["id"], status)
            assert (r.status_code, r.json()["code"]) == (409, "delivery_final")

    def test_stored_and_failed_are_final_too(self, client: TestClient) -> None:
        open_chat(client)
        first, second = queue(client, "a"), queue(client, "b")
        [item] = claim(client)
        stored = report(client, item["id"], "stored").json()
        assert (stored["id"], stored["status"]) == (first["id"], "stored")
        assert stored["delivered_at"] is not None
        [item] = claim(client)
        body = report(client, item["id"], "failed", error="Forbidden: bot was blocked").json()
        assert (body["id"], body["status"], body["error"], body["delivered_at"]) == (
            second["id"],
            "failed",
            "Forbidden: bot was blocked",
            None,
        )
        assert claim(client) == []

    def test_a_claim_whose_lease_ran_out_is_claimed_again(
        self, client: TestClient, db: Session
    ) -> None:
        open_chat(client)
        queued = queue(client)
        claim(client)
        age(db, lease=True)  # the gateway died before reporting
        [again] = claim(client)
        assert (again["id"], again["attempts"]) == (queued["id"], 2)
        assert report(client, again["id"], "delivered").status_code == 200

    def test_due_messages_are_claimed_oldest_first_up_to_the_limit(
        self, client: TestClient
    ) -> None:
        chats = [f"/api/v1/conversations/telegram/{n}" for n in range(1, 5)]
        queued = []
        for chat in chats:
            open_chat(client, chat)
            queued.append(queue(client, chat=chat)["id"])
        assert [m["id"] for m in claim(client, limit=3)] == queued[:3]
        assert [m["id"] for m in claim(client, limit=3)] == queued[3:]

    def test_a_gateway_claims_only_the_channels_it_serves(self, client: TestClient) -> None:
        telegram, webchat = CHAT, "/api/v1/conversations/webchat/page-0001"
        open_chat(client, telegram)
        open_chat(client, webchat)
        on_telegram, on_webchat = queue(client, chat=telegram), queue(client, chat=webchat)
        assert [m["id"] for m in claim(client, channels=["webchat"])] == [on_webchat["id"]]
        assert claim(client, channels=["webchat"]) == []
        assert [m["id"] for m in claim(client, channels=["telegram"])] == [on_telegram["id"]]

    def test_a_chats_messages_go_out_one_at_a_time_in_order(
        self, client: TestClient, db: Session
    ) -> None:
        open_chat(client)
        first, second = queue(client, "first"), queue(client, "second")
        assert [m["id"] for m in claim(client)] == [first["id"]]
        report(client, first["id"], "retry", error="timeout")
        age(db, lease=True)
        assert claim(client) == []  # the second waits while the first waits for its retry
        age(db, wait=True)
        assert [m["id"] for m in claim(client)] == [first["id"]]
        report(client, first["id"], "delivered")
        assert [m["id"] for m in claim(client)] == [second["id"]]

    def test_a_message_never_claimed_cannot_be_reported(self, client: TestClient) -> None:
        open_chat(client)
        queued = queue(client)
        r = report(client, queued["id"], "delivered")
        assert (r.status_code, r.json()["code"]) == (409, "not_claimed")
        assert report(client, 10_000, "delivered").status_code == 404
        assert client.get("/api/v1/outbound/10000").status_code == 404

    def test_bad_claims_and_reports_are_422(self, client: TestClient) -> None:
        for body in ({"limit": 0}, {"limit": 101}, {"lease_seconds": 4}, {"lease_seconds": 601}):
            assert client.post("/api/v1/outbound/claim", json=body).status_code == 422
        open_chat(client)
        queued = queue(client)
        claim(client)
        r = report(client, queued["id"], "lost")
        assert (r.status_code, r.json()["code"]) == (422, "unknown_status")
        assert report(client, queued["id"], "retry", error="x" * 501).status_code == 422
        assert report(client, queued["id"], "retry", retry_after_seconds=-1).status_code == 422


class TestRetry:
    def test_a_retry_waits_the_backoff_then_is_claimed_again(
        self, client: TestClient, db: Session
    ) -> None:
        open_chat(client)
        queued = queue(client)
        claim(client)
        body = report(client, queued["id"], "retry", error="timeout").json()
        assert (body["status"], body["error"], body["lease_until"]) == ("pending", "timeout", None)
        wait = (when(body["next_attempt_at"]) - utcnow()).total_seconds()
        assert 8 < wait <= 10  # 10 s after the first attempt
        assert claim(client) == []
        age(db, wait=True)
        [again] = claim(client)
        assert again["attempts"] == 2
        second = report(client, queued["id"], "retry").json()
        assert 18 < (when(second["next_attempt_at"]) - utcnow()).total_seconds() <= 20
        assert second["error"] == "timeout"  # the last error reported stays

    def test_the_channels_own_wait_is_used_when_it_gives_one(self, client: TestClient) -> None:
        open_chat(client)
        queued = queue(client)
        claim(client)
        body = report(client, queued["id"], "retry", retry_after_seconds=42.5).json()
        assert 40 < (when(body["next_attempt_at"]) - utcnow()).total_seconds() <= 42.5

    def test_after_the_eighth_attempt_a_retry_fails_for_good_keeping_the_error(
        self, client: TestClient, db: Session
    ) -> None:
        open_chat(client)
        queued = queue(client)
        for attempt in range(1, 8):
            [item] = claim(client)
            assert item["attempts"] == attempt
            assert (
                report(client, item["id"], "retry", error=f"timeout {attempt}").json()["status"]
                == "pending"
            )
            age(db, wait=True)
        [last] = claim(client)
        assert last["attempts"] == 8
        body = report(client, queued["id"], "retry", error="timeout 8").json()
        assert (body["status"], body["error"], body["attempts"]) == ("failed", "timeout 8", 8)
        age(db, wait=True, lease=True)
        assert claim(client) == []


class TestClaimsAtOnce:
    """Gateways claiming at the same moment, with real commits: SQLite and PostgreSQL."""

    @staticmethod
    def _queue(engine: Engine, user_ids: list[str], per_chat: int = 1) -> list[int]:
        with Session(engine, expire_on_commit=False) as setup:
            rows = []
            for user_id in user_ids:
                chat = get_or_create(setup, "telegram", user_id)
                for n in range(per_chat):
                    rows.append(
                        service.enqueue(setup, conversation=chat, text=f"{n}", sender="system")
                    )
            setup.commit()
            return [r.id for r in rows]

    def test_a_claim_skips_what_another_claim_holds(self, committing_engine: Engine) -> None:
        """The first claim has leased two messages but not committed: the second gets the
        others (at once on PostgreSQL, once the first commits on SQLite), never the same."""
        user_ids = [f"c-{uuid.uuid4().hex[:8]}" for _ in range(4)]
        got: list[list[int]] = []
        errors: list[BaseException] = []

        def second_claim() -> None:
            try:
                with Session(committing_engine) as session:
                    rows = service.claim(
                        session, limit=10, lease=timedelta(seconds=60), now=utcnow()
                    )
                    got.append([r.id for r in rows])
                    session.commit()
            except BaseException as exc:
                errors.append(exc)

        try:
            queued = self._queue(committing_engine, user_ids)
            with Session(committing_engine) as first:
                held = [
                    r.id
                    for r in service.claim(
                        first, limit=2, lease=timedelta(seconds=60), now=utcnow()
                    )
                ]
                other = threading.Thread(target=second_claim)
                other.start()
                time.sleep(0.5)
                first.commit()
            other.join(timeout=30)
            assert errors == []
            assert held == queued[:2]
            assert sorted(got[0]) == queued[2:]
        finally:
            remove_chats(committing_engine, "telegram", user_ids)

    def test_two_gateways_claiming_at_once_get_disjoint_messages(
        self, committing_engine: Engine, settings: Settings
    ) -> None:
        user_ids = [f"c-{uuid.uuid4().hex[:8]}" for _ in range(20)]
        clients = committing_clients(committing_engine, settings)
        barrier = threading.Barrier(2)
        got: list[list[int]] = []
        errors: list[BaseException] = []

        def gateway(client: TestClient) -> None:
            try:
                barrier.wait()
                got.append([m["id"] for m in claim(client, limit=20)])
            except BaseException as exc:
                errors.append(exc)

        try:
            claim(clients[0])  # the route's first request, before the threads
            queued = self._queue(committing_engine, user_ids)
            threads = [threading.Thread(target=gateway, args=(c,)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert errors == []
            first, second = got
            assert set(first).isdisjoint(second)
            assert sorted(first + second) == queued
        finally:
            remove_chats(committing_engine, "telegram", user_ids)


class TestCollectorReply:
    def test_the_collector_who_took_the_chat_writes_to_the_borrower(
        self, client: TestClient, db: Session
    ) -> None:
        handoff_id = handoff_taken(client)
        r = client.post(
            f"/api/v1/handoffs/{handoff_id}/reply", json={"collector": "alice", "text": "您好"}
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["sender"], body["author"], body["text"]) == ("collector", "alice", "您好")
        last = client.get(f"{CHAT}/messages").json()["messages"][-1]
        assert (last["sender"], last["author"], last["text"]) == ("collector", "alice", "您好")
        subject = f"handoff {handoff_id} reply by alice"
        entry = db.scalars(select(AuditEntry).where(AuditEntry.subject == subject)).one()
        assert (entry.action, entry.actor) == ("create", "service:service")

    def test_another_collector_cannot_write_in_it(self, client: TestClient) -> None:
        handoff_id = handoff_taken(client, "alice")
        r = client.post(
            f"/api/v1/handoffs/{handoff_id}/reply", json={"collector": "bob", "text": "hi"}
        )
        assert (r.status_code, r.json()["code"]) == (409, "not_your_handoff")

    def test_a_chat_not_taken_yet_or_closed_cannot_be_written_in(
        self, client: TestClient, db: Session
    ) -> None:
        handoff = client.post(f"{CHAT}/handoffs", json={"reason": "borrower_request"}).json()
        url = f"/api/v1/handoffs/{handoff['id']}/reply"
        r = client.post(url, json={"collector": "alice", "text": "hi"})
        assert (r.status_code, r.json()["code"]) == (409, "handoff_waiting")
        client.post(f"/api/v1/handoffs/{handoff['id']}/take", json={"collector": "alice"})
        client.post(f"/api/v1/handoffs/{handoff['id']}/close", json={})
        r = client.post(url, json={"collector": "alice", "text": "hi"})
        assert (r.status_code, r.json()["code"]) == (409, "handoff_closed")
        assert (
            client.post(
                "/api/v1/handoffs/999/reply", json={"collector": "a", "text": "x"}
            ).status_code
            == 404
        )
        texts = [m.text for m in db.scalars(select(OutboundMessage))]
        assert "hi" not in texts

    @pytest.mark.parametrize("text", ["", "x" * 4001])
    def test_an_empty_or_too_long_reply_is_422(self, client: TestClient, text: str) -> None:
        handoff_id = handoff_taken(client)
        r = client.post(
            f"/api/v1/handoffs/{handoff_id}/reply", json={"collector": "alice", "text": text}
        )
        assert r.status_code == 422


class TestHandoffNotices:
    def test_taking_the_chat_tells_the_borrower_who_joined_in_chinese_by_default(
        self, client: TestClient
    ) -> None:
        handoff_taken(client, "alice")
        [notice] = client.get(f"{CHAT}/outbound").json()
        assert (notice["sender"], notice["text"], notice["resume_bot"]) == (
            "system",
            "客服alice已接入，请问有什么可以帮您？",
            False,
        )

    def test_the_notice_is_in_the_chats_language(self, client: TestClient) -> None:
        client.put(CHAT, json={"language": "en"})
        handoff_taken(client, "alice")
        [notice] = client.get(f"{CHAT}/outbound").json()
        assert notice["text"] == "A colleague, alice, has joined the chat."

    def test_the_borrowers_own_language_comes_first(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        loan.borrower.language = "en"
        chat = factories.conversation(db, who=loan.borrower)
        chat.language = "zh"
        db.commit()
        handoff_taken(client, "alice")
        assert client.get(f"{CHAT}/outbound").json()[0]["text"].startswith("A colleague")

    def test_taking_it_again_tells_nothing_new(self, client: TestClient) -> None:
        handoff_id = handoff_taken(client, "alice")
        client.post(f"/api/v1/handoffs/{handoff_id}/take", json={"collector": "alice"})
        assert len(client.get(f"{CHAT}/outbound").json()) == 1

    def test_closing_hands_the_chat_back_and_the_gateway_resumes_the_bot(
        self, client: TestClient
    ) -> None:
        client.put(CHAT, json={"language": "en"})
        handoff_id = handoff_taken(client)
        client.post(f"/api/v1/handoffs/{handoff_id}/close", json={"note": "done"})
        back, joined = client.get(f"{CHAT}/outbound").json()
        assert (back["text"], back["resume_bot"]) == (
            "You're back with the assistant. Type your question, or /human for a person.",
            True,
        )
        assert joined["resume_bot"] is False
        claimed = claim(client)
        assert [(m["id"], m["resume_bot"]) for m in claimed] == [(joined["id"], False)]

    def test_closing_a_handoff_nobody_took_still_resumes_the_bot(self, client: TestClient) -> None:
        handoff = client.post(f"{CHAT}/handoffs", json={"reason": "borrower_request"}).json()
        client.post(f"/api/v1/handoffs/{handoff['id']}/close", json={})
        [back] = client.get(f"{CHAT}/outbound").json()
        assert (back["text"], back["resume_bot"]) == (
            "已转回智能助手。请直接输入您的问题，需要人工请发送 /human。",
            True,
        )


CONV = "/api/v1/conversations/telegram/555"


@pytest.fixture
def late_120(db: Session) -> Loan:
    """120 days past due on 1 April 2026: its big settlements need a supervisor."""
    made = factories.loan(db, ref="L9", disbursed_on=date(2025, 11, 1))
    factories.conversation(db, who=made.borrower, user_id="555")
    db.commit()
    return made


def ask_for_settlement(client: TestClient) -> tuple[int, dict[str, Any]]:
    offers = client.get(f"{CONV}/loans/L9/offers").json()["offers"]
    big = next(o for o in offers if o["needs_approval"] and o["parts"] == 1)
    r = client.post(f"{CONV}/loans/L9/arrangements", json={"offer_id": big["id"]})
    assert r.json()["status"] == "pending_approval"
    return int(r.json()["approval"]["id"]), big


class TestApprovalOutcome:
    def test_an_approval_is_told_in_the_chat_that_asked_with_what_to_pay(
        self, client: TestClient, late_120: Loan
    ) -> None:
        request_id, offer = ask_for_settlement(client)
        client.post(f"/api/v1/approvals/{request_id}/approve", json={"decided_by": "sup1"})
        [told] = client.get(f"{CONV}/outbound").json()
        first = offer["installments"][0]
        assert told["sender"] == "system"
        assert "L9" in told["text"] and "获批准" in told["text"]
        assert f"共还 {offer['total']} CNY" in told["text"]
        assert f"减免 {offer['discount']} CNY" in told["text"]
        assert f"首笔 {first['amount']} CNY 请于 {first['due_date']} 前还款" in told["text"]

    def test_a_rejection_is_told_too_in_the_borrowers_language(
        self, client: TestClient, db: Session, late_120: Loan
    ) -> None:
        late_120.borrower.language = "en"
        db.commit()
        request_id, offer = ask_for_settlement(client)
        client.post(f"/api/v1/approvals/{request_id}/reject", json={"decided_by": "sup1"})
        [told] = client.get(f"{CONV}/outbound").json()
        assert told["text"].startswith("Sorry, your settlement request for loan L9")
        assert f"({offer['total']} CNY in all)" in told["text"]

    def test_a_decision_on_a_collectors_request_tells_no_chat(
        self, client: TestClient, db: Session, late_120: Loan
    ) -> None:
        offers = client.get("/api/v1/loans/L9/offers").json()["offers"]
        big = next(o for o in offers if o["needs_approval"])
        client.post(
            "/api/v1/loans/L9/arrangements",
            json={"offer_id": big["id"], "agreed_by": "collector:alice"},
        )
        request_id = client.get("/api/v1/approvals").json()[0]["id"]
        client.post(f"/api/v1/approvals/{request_id}/reject", json={"decided_by": "sup1"})
        assert db.scalars(select(OutboundMessage)).all() == []
        assert db.scalars(select(Conversation)).one().channel_user_id == "555"

    def test_a_chat_no_longer_bound_to_the_borrower_hears_nothing(
        self, client: TestClient, db: Session, late_120: Loan
    ) -> None:
        request_id, _ = ask_for_settlement(client)
        assert client.post(f"{CONV}/wrong-person", json={}).status_code == 200
        client.post(f"/api/v1/approvals/{request_id}/approve", json={"decided_by": "sup1"})
        assert client.get(f"{CONV}/outbound").json() == []

    def test_the_outbox_api_is_documented(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        for path in (
            "/api/v1/conversations/{channel}/{user_id}/outbound",
            "/api/v1/outbound/claim",
            "/api/v1/outbound/{outbound_id}",
            "/api/v1/outbound/{outbound_id}/delivery",
            "/api/v1/handoffs/{handoff_id}/reply",
        ):
            assert path in paths
