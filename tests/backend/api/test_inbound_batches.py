"""Borrower messages of many chats logged in one call (`POST /api/v1/inbound`, Rasa's channel's
call for the messages that reach it together): each logged and answered as its own call would
be, each refused or failed alone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.config import Settings
from backend.conversations import inbound_batches
from backend.conversations.messages import Message
from tests.backend.api.committed import committing_clients, remove_chats

ONE = "/api/v1/conversations/{channel}/{user_id}/inbound"


def batch(client: TestClient, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post("/api/v1/inbound", json={"messages": list(messages)})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == len(messages)
    return results


def chat(user_id: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"channel": "webchat", "user_id": user_id, "text": text, **extra}


class TestABatch:
    def test_each_message_is_answered_as_its_own_call_would_be(self, client: TestClient) -> None:
        first, second, again = batch(
            client,
            chat("b1", "你好", external_id="m1", sent_at="2026-04-01T09:00:00+08:00"),
            chat("b2", "hello", external_id="m2", kind="button"),
            chat("b1", "你好", external_id="m1"),  # the same channel message again
        )
        alone = client.post(ONE.format(channel="webchat", user_id="b3"), json={"text": "x"})
        assert set(first) == set(alone.json())  # the same answer, field for field
        assert first["duplicate"] is False and first["mode"] == "bot"
        assert second["message_id"] != first["message_id"]
        assert (again["message_id"], again["duplicate"]) == (first["message_id"], True)

    def test_one_chats_messages_are_logged_in_their_order(
        self, client: TestClient, db: Session
    ) -> None:
        texts = [f"m{n}" for n in range(8)]
        results = batch(client, *(chat("b1", text) for text in texts), chat("b2", "other"))
        ids = [r["message_id"] for r in results[:8]]
        assert ids == sorted(ids)
        logged = db.scalars(select(Message.text).order_by(Message.id)).all()
        assert [t for t in logged if t != "other"] == texts

    def test_a_malformed_message_refuses_itself_and_the_others_are_logged(
        self, client: TestClient, db: Session
    ) -> None:
        results = batch(
            client,
            chat("b1", "fine"),
            chat("b1", "x", kind="sticker"),
            {"channel": "fax", "user_id": "b1", "text": "x"},
            chat("b2", ""),
            {"text": "no chat"},
            chat("b2", "also fine", request_id="not well formed!"),  # a bad id is replaced
        )
        refused = {"error": "refused", "status": 422}
        assert results[1:5] == [refused] * 4
        assert "message_id" in results[0] and "message_id" in results[5]
        assert db.scalars(select(Message.text).order_by(Message.id)).all() == ["fine", "also fine"]

    def test_a_message_the_database_fails_on_is_undone_alone(
        self, client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = inbound_batches.log_received

        def failing_on_boom(channel: str, user_id: str, body: Any, *rest: Any) -> Any:
            logged = real(channel, user_id, body, *rest)  # written, then it fails
            if body.text == "boom":
                raise RuntimeError("the database went away")
            return logged

        monkeypatch.setattr(inbound_batches, "log_received", failing_on_boom)
        one, boom, two = batch(client, chat("b1", "one"), chat("b1", "boom"), chat("b2", "two"))
        assert boom == {"error": "unavailable", "status": None}
        assert "message_id" in one and "message_id" in two
        assert db.scalars(select(Message.text).order_by(Message.id)).all() == ["one", "two"]

    def test_a_batch_that_goes_well_takes_one_savepoint_not_one_a_message(
        self, client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two statements a message (on PostgreSQL two round trips) only when one fails."""
        taken: list[Session] = []
        real = Session.begin_nested

        def counted(session: Session) -> Any:
            taken.append(session)
            return real(session)

        monkeypatch.setattr(Session, "begin_nested", counted)
        results = batch(client, chat("b1", "one"), chat("b2", "two"), chat("b3", "three"))
        assert all("message_id" in r for r in results)
        assert len(taken) == 1

    def test_an_opt_out_word_opts_its_chat_out_and_no_other(
        self, client: TestClient, db: Session
    ) -> None:
        stop, other = batch(client, chat("b1", "退订"), chat("b2", "hello"))
        assert (stop["opted_out"], other["opted_out"]) == (True, False)
        assert db.scalars(select(Case.kind)).all() == ["opt_out"]

    def test_a_chat_a_collector_has_is_in_human_mode(self, client: TestClient) -> None:
        batch(client, chat("b1"))
        client.post(
            "/api/v1/conversations/webchat/b1/handoffs", json={"reason": "borrower_request"}
        )
        assert [r["mode"] for r in batch(client, chat("b1"), chat("b2"))] == ["human", "bot"]

    def test_the_call_itself_is_refused_when_it_is_not_a_batch(self, client: TestClient) -> None:
        for body in ({}, {"messages": []}, {"messages": [chat("b1")] * 65}, {"messages": "x"}):
            assert client.post("/api/v1/inbound", json=body).status_code == 422, body
        assert client.post("/api/v1/inbound", json={"messages": [chat("b1")]}, headers={
            "Authorization": "Bearer wrong"}).status_code == 401  # fmt: skip

    def test_it_is_documented(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert "post" in paths["/api/v1/inbound"]


def test_committed_on_each_database_chats_at_once(
    committing_engine: Engine, settings: Settings
) -> None:
    """Several chats' messages logged at once, each committing on its own (PostgreSQL logs a
    message to a chat that exists in one statement outside a transaction)."""
    users = [f"batch-{n}" for n in range(6)]
    client = committing_clients(committing_engine, settings, count=1)[0]
    try:
        first = batch(client, *(chat(user, "one") for user in users))
        second = batch(client, *(chat(user, "two") for user in users), chat(users[0], "3"))
        assert all("message_id" in r for r in first + second)
        assert len({r["message_id"] for r in first + second}) == 13
        assert [r["duplicate"] for r in first + second] == [False] * 13
    finally:
        remove_chats(committing_engine, "webchat", users)
