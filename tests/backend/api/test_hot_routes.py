"""The calls of every borrower message (`/inbound`, `/turns`) answered before FastAPI routes
them (backend/hot_routes.py): the same answers as the routes give, to every request, well
formed or not; only the well-formed ones are answered early."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import hot_routes, main
from backend.cases.models import Case
from backend.config import Settings
from backend.ledger.models import Loan
from tests.backend import factories
from tests.backend.api.conftest import TOKEN
from tests.backend.api.test_metrics import metrics_settings, scrape
from tests.backend.apps import app_over

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def answered_early(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The statuses of the responses the middleware gave itself."""
    statuses: list[int] = []
    respond = hot_routes._respond

    async def counting(send: Any, status: int, body: bytes) -> None:
        statuses.append(status)
        await respond(send, status, body)

    monkeypatch.setattr(hot_routes, "_respond", counting)
    return statuses


@pytest.fixture
def clients(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, TestClient]]:
    """The app, and the app without the early answers (every call routed by FastAPI)."""
    with TestClient(app_over(db, settings)) as early:
        monkeypatch.setattr(main, "hot_routes", lambda: [])
        with TestClient(app_over(db, settings)) as routed:
            yield early, routed


def both(
    clients: tuple[TestClient, TestClient], path: str, body: Any, **headers: str
) -> tuple[Any, Any]:
    """The same call to either app, in a chat of its own ("{chat}" in the path: e, r)."""
    answers = []
    for name, client in zip(("e", "r"), clients, strict=True):
        r = client.post(path.replace("{chat}", name), headers=headers, **body)
        answer = r.json()
        if isinstance(answer, dict) and "message_id" in answer:
            assert isinstance(answer.pop("message_id"), int)
        answers.append((r.status_code, answer))
    return answers[0], answers[1]


INBOUND = "/api/v1/conversations/telegram/{chat}/inbound"


class TestInboundAnswers:
    @pytest.mark.parametrize(
        "path, body, headers",
        [
            (INBOUND, {"json": {"text": "hi", "external_id": "m1"}}, AUTH),
            (INBOUND, {"json": {"text": "STOP"}}, AUTH),
            (INBOUND, {"json": {"text": "hi"}}, {"Authorization": "Bearer wrong"}),
            (INBOUND, {"json": {"text": "hi"}}, {}),
            ("/api/v1/conversations/fax/{chat}/inbound", {"json": {"text": "hi"}}, AUTH),
            (INBOUND.replace("{chat}", "{chat}" + "9" * 130), {"json": {"text": "hi"}}, AUTH),
            (INBOUND, {"json": {"text": ""}}, AUTH),
            (INBOUND, {"json": {"text": "\u0000"}}, AUTH),
            (INBOUND, {"json": {"text": "hi", "kind": "sticker"}}, AUTH),
            (INBOUND, {"json": {"text": "hi", "sent_at": "yesterday"}}, AUTH),
            (
                INBOUND,
                {"content": b"{not json", "headers": {"content-type": "application/json"}},
                AUTH,
            ),
            (
                INBOUND,
                {"content": b'{"text": "hi"}', "headers": {"content-type": "text/plain"}},
                AUTH,
            ),
            (INBOUND, {"content": b'{"text": "hi"}'}, AUTH),
        ],
        ids=[
            "message",
            "opt-out",
            "wrong-token",
            "no-token",
            "channel",
            "long-chat-id",
            "empty",
            "nul",
            "kind",
            "sent-at",
            "not-json",
            "text-plain",
            "no-content-type",
        ],
    )
    def test_as_the_route_answers(
        self,
        clients: tuple[TestClient, TestClient],
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        extra = body.pop("headers", {})
        early, routed = both(clients, path, body, **headers, **extra)
        assert early == routed

    def test_a_repeat_is_a_duplicate_and_an_opt_out_files_its_case(
        self, clients: tuple[TestClient, TestClient], db: Session, answered_early: list[int]
    ) -> None:
        first = both(clients, INBOUND, {"json": {"text": "hi", "external_id": "m1"}}, **AUTH)
        again = both(clients, INBOUND, {"json": {"text": "hi", "external_id": "m1"}}, **AUTH)
        stop = both(clients, INBOUND, {"json": {"text": "退订"}}, **AUTH)
        assert first[0][1]["duplicate"] is False
        assert again[0] == again[1] and again[0][1]["duplicate"] is True
        assert stop[0] == stop[1] and stop[0][1]["opted_out"] is True
        assert answered_early == [200, 200, 200]
        kinds = db.scalars(select(Case.kind)).all()
        assert kinds == ["opt_out", "opt_out"]  # one a chat, whichever way it was answered

    def test_a_verified_chat_says_so_with_the_borrower_s_language_and_key(
        self, clients: tuple[TestClient, TestClient], db: Session, loan: Loan
    ) -> None:
        for name in ("e", "r"):
            factories.conversation(db, who=loan.borrower, channel="telegram", user_id=name)
        db.commit()
        early, routed = both(clients, INBOUND, {"json": {"text": "余额"}}, **AUTH)
        assert early == routed
        assert early[1]["verified"] is True
        assert early[1]["language"] == loan.borrower.language
        assert early[1]["arm_key"]


def turn_of(client: TestClient, chat: str, text: str = "hi") -> dict[str, Any]:
    path = f"/api/v1/conversations/telegram/{chat}/inbound"
    message_id = client.post(path, json={"text": text}, headers=AUTH).json()["message_id"]
    return {
        "channel": "telegram",
        "user_id": chat,
        "message_id": message_id,
        "reading": {"intent": "greet", "confidence": 0.9, "entities": []},
        "replies": [{"sender": "bot", "text": "hello", "external_id": f"{message_id}:r0"}],
    }


class TestTurnsAnswers:
    def test_a_batch_is_logged_early_and_answered_as_the_route_does(
        self, clients: tuple[TestClient, TestClient], answered_early: list[int]
    ) -> None:
        early, routed = clients
        a = early.post("/api/v1/turns", json={"turns": [turn_of(early, "e")]}, headers=AUTH)
        b = routed.post("/api/v1/turns", json={"turns": [turn_of(routed, "r")]}, headers=AUTH)
        assert (
            (a.status_code, a.json())
            == (b.status_code, b.json())
            == (201, {"turns": 1, "replies": 1})
        )
        assert answered_early == [200, 201]  # the inbound call, then the batch
        messages = early.get("/api/v1/conversations/telegram/e/messages", headers=AUTH).json()
        assert [(m["sender"], m["intent"]) for m in messages["messages"]] == [
            ("borrower", "greet"),
            ("bot", None),
        ]

    def test_a_refused_batch_has_the_route_s_refusal(
        self, clients: tuple[TestClient, TestClient], answered_early: list[int]
    ) -> None:
        early, routed = clients
        answers = []
        for client, chat in ((early, "e"), (routed, "r")):
            elsewhere = {**turn_of(client, chat), "user_id": "someone-else"}
            r = client.post("/api/v1/turns", json={"turns": [elsewhere]}, headers=AUTH)
            said = f"no message {elsewhere['message_id']} in this conversation"
            answers.append((r.status_code, r.json() == {"detail": said, "code": "not_found"}))
        assert answers == [(404, True), (404, True)]
        assert answered_early == [200]  # the inbound call only: the route refused the batch

    def test_a_malformed_batch(self, clients: tuple[TestClient, TestClient]) -> None:
        early, routed = both(clients, "/api/v1/turns", {"json": {"turns": []}}, **AUTH)
        assert early == routed
        assert early[0] == 422


def test_counted_under_the_route_s_template(db: Session, tmp_path: Path) -> None:
    series = (
        'backend_http_requests_total{method="POST",route="/api/v1/conversations/{channel}/'
        '{user_id}/inbound",status="200"} '
    )

    def counted(text: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(series)]
        return float(lines[0].removeprefix(series)) if lines else 0.0

    with TestClient(app_over(db, metrics_settings(tmp_path)), headers=AUTH) as client:
        before = counted(scrape(client))
        assert client.post(INBOUND.replace("{chat}", "42"), json={"text": "hi"}).is_success
        assert counted(scrape(client)) == before + 1
