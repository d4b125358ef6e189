"""Text that cannot be stored (a NUL character, a lone surrogate) never becomes a 500: a
borrower's or the bot's words are stored without those characters, an identifier that has one
is refused with a clear 422. PostgreSQL refuses NUL in text, so this runs on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

CHAT = "/api/v1/conversations/webchat/w-unstorable-0001"

# JSON as a client sends it: the escapes decode to a NUL and to a lone surrogate.
NUL = "\\u0000"
LONE = "\\ud800"


def post_raw(client: TestClient, path: str, body: str) -> Any:
    return client.post(path, content=body.encode(), headers={"content-type": "application/json"})


def test_a_borrowers_message_with_a_nul_or_a_lone_surrogate_is_stored_clean(
    client: TestClient,
) -> None:
    r = post_raw(
        client, f"{CHAT}/inbound", f'{{"text": "I{NUL} can pay{LONE} 500", "kind": "text"}}'
    )
    assert r.status_code == 200, r.text
    logged = client.get(f"{CHAT}/messages").json()["messages"]
    assert [m["text"] for m in logged] == ["I can pay 500"]


def test_a_logged_batch_with_them_is_stored_clean(client: TestClient) -> None:
    body = (
        f'[{{"sender": "borrower", "text": "a{NUL}b", "external_id": "g1",'
        f' "entities": [{{"entity": "amount", "value": "5{NUL}00{LONE}"}}]}},'
        f' {{"sender": "bot", "text": "ok{LONE}",'
        f' "buttons": [{{"title": "Yes{NUL}", "payload": "/affirm{LONE}"}}]}}]'
    )
    r = post_raw(client, f"{CHAT}/messages", body)
    assert r.status_code == 201, r.text
    borrower, bot = client.get(f"{CHAT}/messages").json()["messages"]
    assert borrower["text"] == "ab" and borrower["entities"][0]["value"] == "500"
    assert bot["text"] == "ok" and bot["buttons"] == [{"title": "Yes", "payload": "/affirm"}]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{CHAT}/inbound", f'{{"text": "hi", "external_id": "m{NUL}1"}}'),
        (f"{CHAT}/inbound", f'{{"text": "hi", "external_id": "m{LONE}1"}}'),
        (f"{CHAT}/messages", f'{{"sender": "collector", "text": "hi", "author": "wang{NUL}"}}'),
        (f"{CHAT}/verify/link-token", f'{{"token": "tok{NUL}en"}}'),
        ("/api/v1/conversations/webchat/w%00x/inbound", '{"text": "hi"}'),
    ],
)
def test_an_identifier_with_one_is_refused_with_a_clear_422(
    client: TestClient, path: str, body: str
) -> None:
    r = post_raw(client, path, body)
    assert r.status_code == 422, r.text
    assert "cannot be stored" in r.json()["detail"]
    assert "\\u0000" not in r.text and "\\ud800" not in r.text  # the value is not echoed
