"""The gateway's calls for a borrower's message: log it once and learn how to route it; read
one message back (button presses); record what the NLU understood."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.conversations import inbound
from backend.conversations.messages import Message, NewMessage, log_messages, logged_once
from backend.conversations.service import get_or_create
from backend.ledger.models import Loan
from tests.backend import factories
from tests.backend.api.committed import committing_clients, remove_chats

CHAT = "/api/v1/conversations/telegram/42"


def receive(client: TestClient, text: str = "hi", chat: str = CHAT, **extra: Any) -> Any:
    r = client.post(f"{chat}/inbound", json={"text": text, **extra})
    assert r.status_code == 200, r.text
    return r.json()


class TestInbound:
    def test_a_verified_borrower_has_one_arm_key_in_every_chat(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        """The key the actions assign wordings by: the same for a borrower on any channel,
        another for another borrower, and nothing that names them."""
        factories.conversation(db, who=loan.borrower, channel="telegram", user_id="42")
        factories.conversation(db, who=loan.borrower, channel="webchat", user_id="w1")
        other = factories.borrower(db, ref="B2", phone_e164="+8613800138002")
        factories.conversation(db, who=other, channel="telegram", user_id="43")
        db.commit()
        keys = [
            receive(client, chat=f"/api/v1/conversations/{chat}")["arm_key"]
            for chat in ("telegram/42", "webchat/w1", "telegram/43")
        ]
        assert keys[0] == keys[1] != keys[2]
        assert all(isinstance(k, str) and len(k) == 20 for k in keys)
        assert loan.borrower.ref not in keys[0]

    def test_a_first_message_opens_the_chat_and_is_logged_as_the_borrowers(
        self, client: TestClient
    ) -> None:
        body = receive(client, "你好", external_id="m1", sent_at="2026-04-01T09:00:00+08:00")
        assert body == {
            "message_id": body["message_id"],
            "duplicate": False,
            "mode": "bot",
            "language": None,
            "verified": False,
            "opted_out": False,
            "arm_key": None,  # not verified: no borrower to assign texts under experiment
        }
        [logged] = client.get(f"{CHAT}/messages").json()["messages"]
        assert (logged["id"], logged["sender"], logged["text"]) == (
            body["message_id"],
            "borrower",
            "你好",
        )
        assert (logged["external_id"], logged["sent_at"]) == ("m1", "2026-04-01T01:00:00Z")

    def test_the_same_channel_message_again_is_a_duplicate_kept_once(
        self, client: TestClient, db: Session
    ) -> None:
        first = receive(client, external_id="m7")
        again = receive(client, external_id="m7")
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        assert again["message_id"] == first["message_id"]
        assert len(db.scalars(select(Message)).all()) == 1

    def test_the_same_external_id_in_another_chat_is_another_message(
        self, client: TestClient
    ) -> None:
        first = receive(client, external_id="m1")
        other = receive(client, chat="/api/v1/conversations/telegram/43", external_id="m1")
        assert other["duplicate"] is False
        assert other["message_id"] != first["message_id"]

    def test_messages_without_an_external_id_are_never_duplicates(self, client: TestClient) -> None:
        first, second = receive(client, "ok"), receive(client, "ok")
        assert not first["duplicate"] and not second["duplicate"]
        assert first["message_id"] != second["message_id"]

    def test_the_chat_is_in_human_mode_while_a_handoff_is_open(self, client: TestClient) -> None:
        assert receive(client)["mode"] == "bot"
        handoff = client.post(f"{CHAT}/handoffs", json={"reason": "borrower_request"}).json()
        assert receive(client, "are you there?")["mode"] == "human"
        client.post(f"/api/v1/handoffs/{handoff['id']}/close", json={})
        assert receive(client, "thanks")["mode"] == "bot"

    def test_a_verified_chat_says_so_with_the_borrowers_language(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        loan.borrower.language = "en"
        conversation = factories.conversation(db, who=loan.borrower)
        conversation.language = "zh"  # heard in Chinese, but the borrower chose English
        db.commit()
        body = receive(client)
        assert (body["verified"], body["language"]) == (True, "en")

    def test_an_unverified_chat_has_the_language_it_was_heard_in(self, client: TestClient) -> None:
        client.put(CHAT, json={"language": "en"})
        assert receive(client)["language"] == "en"

    def test_every_kind_the_gateway_sends_is_accepted(self, client: TestClient) -> None:
        for kind in ("text", "button", "contact", "command"):
            receive(client, "x", kind=kind)

    def test_bad_input_is_422_and_logs_nothing(self, client: TestClient, db: Session) -> None:
        for body in (
            {"text": "x", "kind": "sticker"},
            {"text": "x" * 10_001},
            {"text": "x", "external_id": "e" * 101},
            {"text": "x", "sent_at": "2026-04-01T09:00"},  # naive
            {},
        ):
            assert client.post(f"{CHAT}/inbound", json=body).status_code == 422, body
        r = client.post("/api/v1/conversations/fax/42/inbound", json={"text": "x"})
        assert r.status_code == 422
        assert db.scalars(select(Message)).all() == []


class TestDoubleDeliveryAtOnce:
    """Requests that really commit, at the same moment: SQLite and PostgreSQL."""

    def test_two_deliveries_at_once_log_one_message_and_one_is_the_duplicate(
        self, committing_engine: Engine, settings: Settings
    ) -> None:
        user_id = f"u-{uuid.uuid4().hex[:8]}"
        barrier = threading.Barrier(2)
        results: list[dict[str, Any]] = []
        errors: list[BaseException] = []

        def deliver(client: TestClient) -> None:
            try:
                barrier.wait()
                r = client.post(
                    f"/api/v1/conversations/telegram/{user_id}/inbound",
                    json={"text": "hi", "external_id": "m1"},
                )
                assert r.status_code == 200, r.text
                results.append(r.json())
            except BaseException as exc:  # surfaced below, not lost in the thread
                errors.append(exc)

        clients = committing_clients(committing_engine, settings)
        threads = [threading.Thread(target=deliver, args=(c,)) for c in clients]
        try:
            warm_up = f"/api/v1/conversations/telegram/{user_id}-0/inbound"
            assert clients[0].post(warm_up, json={"text": "x"}).status_code == 200
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert errors == []
            assert sorted(r["duplicate"] for r in results) == [False, True]
            assert results[0]["message_id"] == results[1]["message_id"]
            with Session(committing_engine) as check:
                chat = get_or_create(check, "telegram", user_id)
                rows = check.scalars(select(Message).where(Message.conversation_id == chat.id))
                assert len(rows.all()) == 1
        finally:
            remove_chats(committing_engine, "telegram", [user_id, f"{user_id}-0"])

    def test_a_delivery_racing_an_uncommitted_twin_is_told_it_is_the_duplicate(
        self, committing_engine: Engine
    ) -> None:
        """The first delivery has written its row but not committed when the second arrives:
        the second waits for it (the unique index on PostgreSQL, the write lock on SQLite) and
        answers duplicate instead of failing."""
        user_id = f"u-{uuid.uuid4().hex[:8]}"
        outcome: list[inbound.Received] = []
        errors: list[BaseException] = []

        def second_delivery() -> None:
            try:
                with Session(committing_engine, expire_on_commit=False) as session:
                    received = inbound.receive(
                        session, channel="telegram", user_id=user_id, text="hi", external_id="m1"
                    )
                    session.commit()
                    outcome.append(received)
            except BaseException as exc:
                errors.append(exc)

        try:
            with Session(committing_engine) as setup:
                get_or_create(setup, "telegram", user_id)
                setup.commit()
            with Session(committing_engine) as first:
                inbound.receive(
                    first, channel="telegram", user_id=user_id, text="hi", external_id="m1"
                )
                racer = threading.Thread(target=second_delivery)
                racer.start()
                time.sleep(0.5)  # the second is now waiting on the first
                first.commit()
            racer.join(timeout=30)
            assert errors == []
            assert [r.duplicate for r in outcome] == [True]
        finally:
            remove_chats(committing_engine, "telegram", [user_id])


class TestStatementsPerMessage:
    """The two calls every borrower message makes (the message in, its turn) cost the database
    as little as they can: the round trips are a borrower's wait and the backend's CPU."""

    @staticmethod
    def statements(db: Session) -> list[str]:
        """The verbs of the statements run on `db` from now on, less the transaction's own
        (BEGIN; SAVEPOINT and RELEASE stand for a request's commit in the test's transaction)."""
        said: list[str] = []

        def heard(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            verb = statement.split(None, 1)[0].upper()
            if verb not in ("SAVEPOINT", "RELEASE", "BEGIN"):
                said.append(verb)

        event.listen(db.get_bind(), "before_cursor_execute", heard)
        return said

    def test_a_message_in_is_the_chats_look_up_and_one_insert(
        self, client: TestClient, db: Session
    ) -> None:
        receive(client, "hi", external_id="m1")
        said = self.statements(db)
        body = receive(client, "hello", external_id="m2")
        if db.get_bind().dialect.name == "postgresql":
            assert said == ["WITH"]  # the look-up and the insert in one statement
        else:
            assert said == ["SELECT", "INSERT"]  # no look-up first, no savepoint
        assert body["duplicate"] is False

    def test_a_first_message_looks_for_its_chat_once_then_opens_it(
        self, client: TestClient, db: Session
    ) -> None:
        said = self.statements(db)
        body = receive(client, "hi", external_id="m1")
        # The look-up (on PostgreSQL, the look-up joined with the insert, which finds no chat),
        # the chat opened, found again, and the message.
        looked = "WITH" if db.get_bind().dialect.name == "postgresql" else "SELECT"
        assert said == [looked, "INSERT", "SELECT", "INSERT"]
        assert body["duplicate"] is False and body["mode"] == "bot"

    def test_served_on_postgresql_a_message_is_one_statement_outside_a_transaction(
        self, committing_engine: Engine, settings: Settings
    ) -> None:
        """As the backend serves (its own sessions, not the test's): on PostgreSQL a message to
        a chat that exists is one statement with no transaction around it (autocommit: no
        BEGIN and COMMIT round trips), committed when the answer comes; its duplicate is the
        look-up of the message logged before. Where a chat is new, or on SQLite, the message
        is logged in a transaction as before, with the same answers: a first message on
        PostgreSQL tries the one statement once, then opens the chat without trying again."""
        user_id = f"u-{uuid.uuid4().hex[:8]}"
        chat = f"/api/v1/conversations/telegram/{user_id}"
        client = committing_clients(committing_engine, settings, count=1)[0]
        heard: list[tuple[str, bool]] = []

        def statement(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            dbapi = conn.connection.dbapi_connection
            heard.append((statement.split(None, 1)[0].upper(), getattr(dbapi, "autocommit", False)))

        on_postgresql = committing_engine.dialect.name == "postgresql"
        try:
            event.listen(committing_engine, "before_cursor_execute", statement)
            try:
                first = receive(client, "hi", chat, external_id="m1")
                opened, heard[:] = list(heard), []
                second = receive(client, "hello", chat, external_id="m2")
                again = receive(client, "hello", chat, external_id="m2")
                unnamed = [receive(client, "ok", chat)["message_id"] for _ in range(2)]
            finally:
                event.remove(committing_engine, "before_cursor_execute", statement)
            assert first["duplicate"] is False
            assert second["duplicate"] is False and again["duplicate"] is True
            assert again["message_id"] == second["message_id"] != first["message_id"]
            assert len(set(unnamed)) == 2
            if on_postgresql:
                assert opened == [  # no chat found; then one transaction opens it and logs
                    ("WITH", True),
                    ("INSERT", False),
                    ("SELECT", False),
                    ("INSERT", False),
                ]
                assert heard[:1] == [("WITH", True)]  # the second message
                assert heard[1:3] == [("WITH", True), ("SELECT", True)]  # its duplicate
            else:
                verbs = [verb for verb, _ in heard if verb != "BEGIN"]
                assert verbs[:2] == ["SELECT", "INSERT"]
            with Session(committing_engine) as other:  # committed: another session sees it
                texts = other.scalars(
                    select(Message.text)
                    .where(Message.id.in_([second["message_id"], *unnamed]))
                    .order_by(Message.id)
                )
                assert texts.all() == ["hello", "ok", "ok"]
        finally:
            remove_chats(committing_engine, "telegram", [user_id])

    def test_a_turn_is_one_look_up_the_reading_and_one_insert_for_its_replies(
        self, client: TestClient, db: Session
    ) -> None:
        message_id = receive(client, "hello", external_id="m1")["message_id"]
        said = self.statements(db)
        r = client.post(
            f"{CHAT}/messages/{message_id}/turn",
            json={
                "reading": {"intent": "greet", "confidence": 0.9, "entities": []},
                "replies": [
                    {"sender": "bot", "text": "你好", "external_id": "m1-r0"},
                    {"sender": "bot", "text": "hi", "external_id": "m1-r1"},
                ],
            },
        )
        assert r.status_code == 201, r.text
        assert said == ["SELECT", "UPDATE", "INSERT"]  # the message and its chat in one

    def test_a_batch_sent_again_with_new_and_twin_messages_keeps_each_once_in_order(
        self, db: Session
    ) -> None:
        chat = get_or_create(db, "telegram", "42")
        first = log_messages(
            db, conversation=chat, messages=[NewMessage(sender="bot", text="a", external_id="r0")]
        )
        again = logged_once(
            db,
            chat,
            [
                NewMessage(sender="bot", text="a", external_id="r0"),  # logged before
                NewMessage(sender="bot", text="b", external_id="r1"),
                NewMessage(sender="bot", text="c", external_id="r2"),
                NewMessage(sender="bot", text="b", external_id="r1"),  # the batch's own twin
            ],
        )
        assert [(m.text, repeat) for m, repeat in again] == [
            ("a", True),
            ("b", False),
            ("c", False),
            ("b", False),
        ]
        assert again[0][0].id == first[0].id and again[1][0] is again[3][0]
        assert again[1][0].id < again[2][0].id  # logged in the batch's order
        stored = db.scalars(select(Message.text).where(Message.conversation_id == chat.id))
        assert sorted(stored) == ["a", "b", "c"]


def bot_reply(db: Session, user_id: str = "42") -> Message:
    chat = get_or_create(db, "telegram", user_id)
    buttons = [{"title": "余额", "payload": "/ask_balance"}, {"title": "还款", "payload": "/pay"}]
    [message] = log_messages(
        db, conversation=chat, messages=[NewMessage(sender="bot", text="?", buttons=buttons)]
    )
    db.commit()
    return message


class TestButtonPresses:
    def test_the_message_that_offered_the_buttons_is_read_back(
        self, client: TestClient, db: Session
    ) -> None:
        offered = bot_reply(db)
        r = client.get(f"{CHAT}/messages/{offered.id}")
        assert r.status_code == 200
        assert r.json()["buttons"][1] == {"title": "还款", "payload": "/pay"}

    def test_another_chats_message_is_as_unknown_as_none(
        self, client: TestClient, db: Session
    ) -> None:
        theirs = bot_reply(db, user_id="99")
        receive(client)  # this chat exists too
        for message_id in (theirs.id, 10_000):
            r = client.get(f"{CHAT}/messages/{message_id}")
            assert (r.status_code, r.json()["code"]) == (404, "not_found")
        assert (
            client.get(f"/api/v1/conversations/telegram/7/messages/{theirs.id}").status_code == 404
        )


class TestNLUReading:
    def test_a_borrower_message_gets_its_intent_confidence_and_entities(
        self, client: TestClient
    ) -> None:
        message_id = receive(client, "我下周五还500")["message_id"]
        entities = [{"entity": "amount", "value": "500", "start": 5, "end": 8}]
        r = client.patch(
            f"{CHAT}/messages/{message_id}",
            json={"intent": "promise_to_pay", "confidence": 0.93, "entities": entities},
        )
        assert r.status_code == 200, r.text
        [logged] = client.get(f"{CHAT}/messages").json()["messages"]
        assert (logged["intent"], logged["confidence"], logged["entities"]) == (
            "promise_to_pay",
            0.93,
            entities,
        )

    def test_a_later_reading_replaces_the_earlier_one(self, client: TestClient) -> None:
        message_id = receive(client, "?")["message_id"]
        url = f"{CHAT}/messages/{message_id}"
        client.patch(url, json={"intent": "greet", "confidence": 0.4, "entities": []})
        body = client.patch(url, json={"intent": "nlu_fallback"}).json()
        assert (body["intent"], body["confidence"], body["entities"]) == (
            "nlu_fallback",
            None,
            None,
        )

    def test_a_bot_message_is_refused(self, client: TestClient, db: Session) -> None:
        offered = bot_reply(db)
        r = client.patch(f"{CHAT}/messages/{offered.id}", json={"intent": "greet"})
        assert (r.status_code, r.json()["code"]) == (422, "nlu_on_reply")
        assert db.get(Message, offered.id).intent is None  # type: ignore[union-attr]

    def test_a_confidence_outside_0_to_1_is_refused(self, client: TestClient) -> None:
        message_id = receive(client)["message_id"]
        r = client.patch(f"{CHAT}/messages/{message_id}", json={"confidence": 1.2})
        assert (r.status_code, r.json()["code"]) == (422, "bad_confidence")

    def test_another_chats_message_cannot_be_annotated(self, client: TestClient) -> None:
        theirs = receive(client, chat="/api/v1/conversations/telegram/99")["message_id"]
        receive(client)
        r = client.patch(f"{CHAT}/messages/{theirs}", json={"intent": "greet"})
        assert r.status_code == 404

    def test_the_gateway_api_is_documented(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert "post" in paths["/api/v1/conversations/{channel}/{user_id}/inbound"]
        one = paths["/api/v1/conversations/{channel}/{user_id}/messages/{message_id}"]
        assert {"get", "patch"} <= set(one)


class TestOptOutWords:
    def test_stop_in_any_form_opts_the_chat_out_at_once(
        self, client: TestClient, db: Session
    ) -> None:
        from backend.cases.models import Case

        for n, word in enumerate(["STOP", " Stop! ", "ｓｔｏｐ", "退订。"]):
            chat = f"/api/v1/conversations/telegram/{700 + n}"
            assert receive(client, word, chat=chat)["opted_out"] is True
        kinds = db.scalars(select(Case.kind)).all()
        assert kinds == ["opt_out"] * 4

    def test_a_sentence_that_mentions_stop_is_not_an_opt_out(
        self, client: TestClient, db: Session
    ) -> None:
        from backend.cases.models import Case

        assert receive(client, "please don't stop helping me")["opted_out"] is False
        assert receive(client, "/stop", kind="command")["opted_out"] is False
        assert db.scalars(select(Case)).all() == []
