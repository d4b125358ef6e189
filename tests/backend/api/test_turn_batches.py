"""`POST /api/v1/turns`: the turns the gateway answered in one moment, of any chats, logged in
one call (bot/turn_log.py), each as `POST .../messages/{id}/turn` logs it, all or nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.backend.api import test_gateway_inbound
from tests.backend.api.test_gateway_inbound import bot_reply, receive

TELEGRAM = "/api/v1/conversations/telegram/42"
WEBCHAT = "/api/v1/conversations/webchat/w-1"


def at(second: int) -> str:
    return f"2026-12-05T10:00:{second:02d}+00:00"


def turn(
    channel: str, user_id: str, message_id: int, *replies: str, answered: int = 0, **reading: Any
) -> Any:
    return {
        "channel": channel,
        "user_id": user_id,
        "message_id": message_id,
        "reading": reading or None,
        "replies": [
            {
                "sender": "bot",
                "text": text,
                "external_id": f"m{message_id}:r{i}",
                "sent_at": at(answered),
            }
            for i, text in enumerate(replies)
        ],
    }


def transcript(client: TestClient, chat: str) -> list[tuple[str, str, str | None]]:
    messages = client.get(f"{chat}/messages").json()["messages"]
    return [(m["sender"], m["text"], m["intent"]) for m in messages]


class TestTurnBatches:
    def test_turns_of_several_chats_are_logged_in_one_call_each_in_its_chat(
        self, client: TestClient
    ) -> None:
        first = receive(client, "你好", external_id="t1", sent_at=at(0))["message_id"]
        other = receive(client, "hi", chat=WEBCHAT, external_id="w1", sent_at=at(0))["message_id"]
        second = receive(client, "在吗", external_id="t2", sent_at=at(2))["message_id"]
        r = client.post(
            "/api/v1/turns",
            json={
                "turns": [
                    turn(
                        "telegram",
                        "42",
                        first,
                        "您好",
                        "有什么可以帮您？",
                        answered=1,
                        intent="greet",
                    ),
                    turn("webchat", "w-1", other, "Hello", answered=1, intent="greet"),
                    turn("telegram", "42", second, "在的", answered=3, intent="greet"),
                ]
            },
        )
        assert r.status_code == 201, r.text
        assert r.json() == {"turns": 3, "replies": 4}
        assert transcript(client, TELEGRAM) == [
            ("borrower", "你好", "greet"),
            ("bot", "您好", None),
            ("bot", "有什么可以帮您？", None),
            ("borrower", "在吗", "greet"),
            ("bot", "在的", None),
        ]
        assert transcript(client, WEBCHAT) == [("borrower", "hi", "greet"), ("bot", "Hello", None)]

    def test_a_batch_is_three_statements_however_many_turns(
        self, client: TestClient, db: Session
    ) -> None:
        ids = [receive(client, f"m{i}", external_id=f"e{i}")["message_id"] for i in range(4)]
        said = test_gateway_inbound.TestStatementsPerMessage.statements(db)
        turns = [turn("telegram", "42", i, "ok", "好的", intent="greet") for i in ids]
        assert client.post("/api/v1/turns", json={"turns": turns}).status_code == 201
        assert said == ["SELECT", "UPDATE", "INSERT"]

    def test_a_batch_sent_again_logs_nothing_twice(self, client: TestClient) -> None:
        message_id = receive(client, "你好", external_id="t1", sent_at=at(0))["message_id"]
        body = {"turns": [turn("telegram", "42", message_id, "您好", "再见", answered=1)]}
        for _ in range(2):
            assert client.post("/api/v1/turns", json=body).status_code == 201
        assert [text for _, text, _ in transcript(client, TELEGRAM)] == ["你好", "您好", "再见"]

    def test_one_turn_refused_refuses_the_batch_and_logs_none_of_it(
        self, client: TestClient, db: Session
    ) -> None:
        mine = receive(client, "你好", external_id="t1")["message_id"]
        theirs = receive(client, "hi", chat=WEBCHAT, external_id="w1")["message_id"]
        reply = bot_reply(db).id  # a reading belongs to a borrower message only
        for bad, status, code in (
            (turn("telegram", "42", theirs, "x"), 404, "not_found"),  # another chat's message
            (turn("telegram", "42", 1_000_000, "x"), 404, "not_found"),
            (turn("telegram", "42", reply, intent="greet"), 422, "nlu_on_reply"),
        ):
            good = turn("telegram", "42", mine, "您好", intent="greet")
            r = client.post("/api/v1/turns", json={"turns": [good, bad]})
            assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert transcript(client, TELEGRAM)[0] == ("borrower", "你好", None)
        assert ("bot", "您好", None) not in transcript(client, TELEGRAM)

    def test_a_malformed_batch_is_422(self, client: TestClient) -> None:
        message_id = receive(client)["message_id"]
        for body in (
            {"turns": []},
            {"turns": [turn("fax", "42", message_id, "x")]},
            {"turns": [turn("telegram", "42", 0, "x")]},
            {"turns": [turn("telegram", "42", message_id, "x")] * 101},
            {"turns": [{**turn("telegram", "42", message_id), "reading": {"confidence": 2}}]},
        ):
            r = client.post("/api/v1/turns", json=body)
            assert r.status_code in (400, 422), r.text

    def test_it_needs_the_service_token(self, client: TestClient) -> None:
        r = client.post("/api/v1/turns", json={"turns": []}, headers={"Authorization": ""})
        assert r.status_code == 401
