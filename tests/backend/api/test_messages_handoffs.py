"""The transcript the gateway logs, and handing chats from the bot to a person and back."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.cases.models import Handoff
from backend.cases.service import proactive_contact_hold
from backend.conversations.messages import Message
from backend.ledger.models import Loan
from tests.backend import factories

CHAT = "/api/v1/conversations/telegram/42"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def ask_for_person(client: TestClient, chat: str = CHAT, reason: str = "borrower_request"):  # type: ignore[no-untyped-def]
    return client.post(f"{chat}/handoffs", json={"reason": reason, "details": "wants a person"})


class TestLoggingMessages:
    def test_borrower_messages_keep_intent_confidence_and_entities(
        self, client: TestClient, db: Session
    ) -> None:
        r = client.post(
            f"{CHAT}/messages",
            json={
                "sender": "borrower",
                "text": "我下周五还 500",
                "intent": "promise_to_pay",
                "confidence": 0.91,
                "entities": [{"entity": "amount", "value": "500", "start": 7, "end": 10}],
                "sent_at": at(0),
            },
        )
        assert r.status_code == 201, r.text
        [logged] = r.json()
        assert (logged["intent"], logged["confidence"]) == ("promise_to_pay", 0.91)
        assert logged["entities"][0]["value"] == "500"

    def test_a_batch_is_read_back_oldest_first(self, client: TestClient) -> None:
        batch = [
            {"sender": "borrower", "text": "hi", "sent_at": at(0), "intent": "greet"},
            {
                "sender": "bot",
                "text": "Hello! What can I do?",
                "sent_at": at(1),
                "buttons": [{"title": "Balance", "payload": "/ask_balance"}],
            },
            {"sender": "borrower", "text": "balance", "sent_at": at(5), "confidence": 0.5},
        ]
        assert client.post(f"{CHAT}/messages", json=batch).status_code == 201
        # logged later but sent earlier: the transcript follows the time sent
        client.post(f"{CHAT}/messages", json={"sender": "system", "text": "x", "sent_at": at(3)})
        body = client.get(f"{CHAT}/messages").json()
        assert [m["text"] for m in body["messages"]] == [
            "hi",
            "Hello! What can I do?",
            "x",
            "balance",
        ]
        assert body["messages"][1]["buttons"] == [{"title": "Balance", "payload": "/ask_balance"}]
        assert body["mode"] == "bot"
        assert body["next_after"] is None

    def test_the_transcript_pages_with_an_after_cursor(self, client: TestClient) -> None:
        batch = [{"sender": "borrower", "text": str(i), "sent_at": at(i)} for i in range(5)]
        client.post(f"{CHAT}/messages", json=batch)
        first = client.get(f"{CHAT}/messages", params={"limit": 2}).json()
        assert [m["text"] for m in first["messages"]] == ["0", "1"]
        rest = client.get(f"{CHAT}/messages", params={"after": first["next_after"]}).json()
        assert [m["text"] for m in rest["messages"]] == ["2", "3", "4"]

    def test_an_unbound_chat_is_logged_and_created_on_its_first_message(
        self, client: TestClient, db: Session
    ) -> None:
        r = client.post(
            "/api/v1/conversations/webchat/new-visitor/messages",
            json={"sender": "borrower", "text": "?"},
        )
        assert r.status_code == 201
        assert client.get("/api/v1/conversations/webchat/new-visitor").json()["verified"] is False

    def test_the_same_channel_message_twice_is_kept_once(
        self, client: TestClient, db: Session
    ) -> None:
        message = {"sender": "borrower", "text": "hi", "external_id": "tg-1001"}
        first = client.post(f"{CHAT}/messages", json=message).json()
        again = client.post(f"{CHAT}/messages", json=message).json()
        assert first[0]["id"] == again[0]["id"]
        assert len(db.scalars(select(Message)).all()) == 1

    def test_nlu_fields_on_a_bot_reply_refuse_the_whole_batch(
        self, client: TestClient, db: Session
    ) -> None:
        batch = [
            {"sender": "borrower", "text": "hi"},
            {"sender": "bot", "text": "hello", "intent": "greet"},
        ]
        r = client.post(f"{CHAT}/messages", json=batch)
        assert (r.status_code, r.json()["code"]) == (422, "nlu_on_reply")
        assert db.scalars(select(Message)).all() == []
        assert client.get(CHAT).status_code == 404  # not even the conversation

    def test_unknown_sender_and_bad_confidence_are_clear_422s(self, client: TestClient) -> None:
        r = client.post(f"{CHAT}/messages", json={"sender": "robot", "text": "x"})
        assert (r.status_code, r.json()["code"]) == (422, "unknown_sender")
        r = client.post(f"{CHAT}/messages", json={"sender": "borrower", "confidence": 1.5})
        assert (r.status_code, r.json()["code"]) == (422, "bad_confidence")

    def test_a_naive_timestamp_is_refused(self, client: TestClient) -> None:
        r = client.post(f"{CHAT}/messages", json={"sender": "bot", "sent_at": "2026-04-01T09:00"})
        assert r.status_code == 422

    def test_the_transcript_of_an_unknown_chat_is_404(self, client: TestClient) -> None:
        assert client.get(f"{CHAT}/messages").status_code == 404

    def test_reading_a_verified_chats_transcript_is_audited(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        factories.conversation(db, who=loan.borrower)
        db.commit()
        client.get(f"{CHAT}/messages")
        entry = db.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.borrower_id, entry.subject) == (
            "read",
            loan.borrower_id,
            "transcript",
        )


class TestLoggingATurn:
    """POST .../messages/{id}/turn: the gateway stores a borrower message's NLU reading and the
    assistant's replies in one call."""

    def borrower_message(self, client: TestClient) -> int:
        r = client.post(f"{CHAT}/messages", json={"sender": "borrower", "text": "两千五 下周五"})
        return int(r.json()[0]["id"])

    def test_the_reading_and_the_replies_in_one_call(self, client: TestClient) -> None:
        said = self.borrower_message(client)
        reading = {
            "intent": "promise_to_pay",
            "confidence": 0.88,
            "entities": [{"entity": "amount", "value": "两千五", "start": 0, "end": 3}],
        }
        replies = [
            {"sender": "bot", "text": "How much?", "external_id": "w1:r0"},
            {"sender": "bot", "text": "Which day?", "external_id": "w1:r1",
             "buttons": [{"title": "Friday", "payload": "/inform"}]},
        ]  # fmt: skip
        r = client.post(
            f"{CHAT}/messages/{said}/turn", json={"reading": reading, "replies": replies}
        )
        assert r.status_code == 201, r.text
        assert [m["text"] for m in r.json()] == ["How much?", "Which day?"]
        again = client.post(f"{CHAT}/messages/{said}/turn", json={"replies": replies})
        assert [m["id"] for m in again.json()] == [m["id"] for m in r.json()]  # kept once
        messages = client.get(f"{CHAT}/messages").json()["messages"]
        assert [m["text"] for m in messages] == ["两千五 下周五", "How much?", "Which day?"]
        assert (messages[0]["intent"], messages[0]["confidence"]) == ("promise_to_pay", 0.88)
        assert messages[0]["entities"][0]["value"] == "两千五"

    def test_a_reading_of_a_reply_refuses_the_whole_turn(
        self, client: TestClient, db: Session
    ) -> None:
        said = self.borrower_message(client)
        reply = client.post(f"{CHAT}/messages", json={"sender": "bot", "text": "hi"}).json()[0]
        body = {"reading": {"intent": "greet"}, "replies": [{"sender": "bot", "text": "x"}]}
        r = client.post(f"{CHAT}/messages/{reply['id']}/turn", json=body)
        assert (r.status_code, r.json()["code"]) == (422, "nlu_on_reply")
        assert len(db.scalars(select(Message)).all()) == 2  # nothing of it logged
        assert db.get(Message, said).intent is None  # type: ignore[union-attr]

    def test_another_chats_message_is_404(self, client: TestClient) -> None:
        said = self.borrower_message(client)
        other = "/api/v1/conversations/telegram/43"
        client.post(f"{other}/messages", json={"sender": "borrower", "text": "hi"})
        r = client.post(f"{other}/messages/{said}/turn", json={"reading": {"intent": "greet"}})
        assert r.status_code == 404

    def test_a_reply_is_found_by_the_id_the_gateway_gave_it_in_its_own_chat_only(
        self, client: TestClient
    ) -> None:
        # A Telegram button names its reply so before the reply is logged (bot/relay.py).
        said = self.borrower_message(client)
        replies = [{"sender": "bot", "text": "Which plan?", "external_id": "m77:r0",
                    "buttons": [{"title": "3 x 800", "payload": "/choose_offer"}]}]  # fmt: skip
        client.post(f"{CHAT}/messages/{said}/turn", json={"replies": replies})
        found = client.get(f"{CHAT}/messages/by-external-id/m77:r0")
        assert found.status_code == 200, found.text
        assert found.json()["buttons"] == replies[0]["buttons"]
        other = "/api/v1/conversations/telegram/43"
        client.post(f"{other}/messages", json={"sender": "borrower", "text": "hi"})
        assert client.get(f"{other}/messages/by-external-id/m77:r0").status_code == 404
        assert client.get(f"{CHAT}/messages/by-external-id/m78:r0").status_code == 404


class TestRequestingAPerson:
    def test_a_handoff_puts_the_chat_in_human_mode(self, client: TestClient) -> None:
        r = ask_for_person(client)
        assert r.status_code == 201
        assert (r.json()["status"], r.json()["priority"]) == ("waiting", "normal")
        state = client.get(CHAT).json()
        assert state["mode"] == "human"
        assert state["current_handoff"]["id"] == r.json()["id"]

    def test_a_second_request_returns_the_open_handoff(
        self, client: TestClient, db: Session
    ) -> None:
        first = ask_for_person(client)
        again = ask_for_person(client)
        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert len(db.scalars(select(Handoff)).all()) == 1

    def test_a_more_urgent_second_request_moves_the_handoff_up(self, client: TestClient) -> None:
        first = ask_for_person(client)
        again = ask_for_person(client, reason="complaint")
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["priority"] == "high"

    def test_an_unverified_chat_can_ask_and_learns_nothing(self, client: TestClient) -> None:
        body = ask_for_person(client).json()
        assert set(body) == {"id", "reason", "priority", "status", "taken_by", "created_at"}

    def test_unknown_reason_is_422_and_nothing_changes(self, client: TestClient) -> None:
        r = ask_for_person(client, reason="bored")
        assert (r.status_code, r.json()["code"]) == (422, "unknown_reason")
        assert client.get(CHAT).status_code == 404  # not even the conversation was written

    def test_a_live_handoff_holds_proactive_contact(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        factories.conversation(db, who=loan.borrower)
        db.commit()
        ask_for_person(client)
        hold = proactive_contact_hold(
            db, borrower_id=loan.borrower_id, channel="webchat", loan_id=loan.id
        )
        assert hold == "live_handoff"


class TestTheQueue:
    def test_served_distress_first_then_complaints_and_disputes_then_by_wait(
        self, client: TestClient
    ) -> None:
        chats = {
            "1": "borrower_request",
            "2": "misunderstood",
            "3": "dispute",
            "4": "complaint",
            "5": "distress",
        }
        for user_id, reason in chats.items():
            assert (
                ask_for_person(
                    client, f"/api/v1/conversations/telegram/{user_id}", reason
                ).status_code
                == 201
            )
        queue = client.get("/api/v1/handoffs", params={"status": "waiting"}).json()
        assert [h["user_id"] for h in queue] == ["5", "3", "4", "1", "2"]
        assert [h["priority"] for h in queue] == ["urgent", "high", "high", "normal", "normal"]
        assert all(h["waiting_seconds"] >= 0 for h in queue)

    def test_a_collector_takes_a_chat_and_hands_it_back_to_the_bot(
        self, client: TestClient
    ) -> None:
        handoff = ask_for_person(client).json()
        taken = client.post(f"/api/v1/handoffs/{handoff['id']}/take", json={"collector": "alice"})
        assert (taken.json()["status"], taken.json()["taken_by"]) == ("taken", "alice")
        assert client.get("/api/v1/handoffs").json() == []  # no longer waiting
        assert [h["id"] for h in client.get("/api/v1/handoffs?status=taken").json()] == [
            handoff["id"]
        ]
        closed = client.post(f"/api/v1/handoffs/{handoff['id']}/close", json={"note": "agreed PTP"})
        assert closed.json()["status"] == "closed"
        assert closed.json()["close_note"] == "agreed PTP"
        state = client.get(CHAT).json()
        assert (state["mode"], state["current_handoff"]) == ("bot", None)

    def test_a_whatsapp_reply_after_a_day_of_silence_is_refused_with_the_reason(
        self, client: TestClient
    ) -> None:
        chat = "/api/v1/conversations/whatsapp/8613800138401"
        old = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
        client.post(f"{chat}/messages", json={"sender": "borrower", "text": "hi", "sent_at": old})
        handoff = ask_for_person(client, chat).json()
        client.post(f"/api/v1/handoffs/{handoff['id']}/take", json={"collector": "alice"})
        reply = {"collector": "alice", "text": "您好"}
        refused = client.post(f"/api/v1/handoffs/{handoff['id']}/reply", json=reply)
        assert (refused.status_code, refused.json()["code"]) == (409, "whatsapp_window_closed")
        assert "24 hours" in refused.json()["detail"]
        client.post(f"{chat}/messages", json={"sender": "borrower", "text": "在吗"})  # now
        sent = client.post(f"/api/v1/handoffs/{handoff['id']}/reply", json=reply)
        assert sent.status_code == 201

    def test_after_closing_a_new_request_opens_a_new_handoff(self, client: TestClient) -> None:
        first = ask_for_person(client).json()
        client.post(f"/api/v1/handoffs/{first['id']}/close", json={})
        second = ask_for_person(client)
        assert second.status_code == 201
        assert second.json()["id"] != first["id"]

    def test_closing_a_closed_handoff_is_409(self, client: TestClient) -> None:
        handoff = ask_for_person(client).json()
        client.post(f"/api/v1/handoffs/{handoff['id']}/close", json={})
        r = client.post(f"/api/v1/handoffs/{handoff['id']}/close", json={})
        assert (r.status_code, r.json()["code"]) == (409, "handoff_closed")

    def test_a_chat_another_collector_has_cannot_be_taken(self, client: TestClient) -> None:
        handoff = ask_for_person(client).json()
        url = f"/api/v1/handoffs/{handoff['id']}/take"
        client.post(url, json={"collector": "alice"})
        assert client.post(url, json={"collector": "alice"}).status_code == 200
        r = client.post(url, json={"collector": "bob"})
        assert (r.status_code, r.json()["code"]) == (409, "handoff_taken")
        assert "alice" in r.json()["detail"]

    def test_the_queue_shows_the_borrower_of_a_verified_chat_and_audits_it(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        factories.conversation(db, who=loan.borrower)
        db.commit()
        ask_for_person(client)
        [item] = client.get("/api/v1/handoffs").json()
        assert item["borrower_ref"] == "B-L1"
        reads = db.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all()
        assert [(a.borrower_id, a.subject) for a in reads] == [(loan.borrower_id, "handoff queue")]

    def test_an_unknown_status_or_handoff_is_a_clear_error(self, client: TestClient) -> None:
        r = client.get("/api/v1/handoffs", params={"status": "lost"})
        assert (r.status_code, r.json()["code"]) == (422, "unknown_status")
        assert client.post("/api/v1/handoffs/999/take", json={"collector": "a"}).status_code == 404

    def test_the_api_is_documented(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        for path in (
            "/api/v1/conversations/{channel}/{user_id}/messages",
            "/api/v1/conversations/{channel}/{user_id}/cases",
            "/api/v1/conversations/{channel}/{user_id}/handoffs",
            "/api/v1/conversations/{channel}/{user_id}/opt-in",
            "/api/v1/cases",
            "/api/v1/cases/{case_id}",
            "/api/v1/handoffs",
            "/api/v1/handoffs/{handoff_id}/take",
            "/api/v1/handoffs/{handoff_id}/close",
        ):
            assert path in paths
