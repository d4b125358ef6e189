"""Rasa and the action server as the Procfile starts them, on the shared stack: nothing reaches
a borrower's conversation except through the gateway. Rasa's HTTP API wants its token, its REST
channel the gateway's bearer secret, the action server its own; and a link token never lands in
a Rasa tracker, where anyone with the API token could read it back."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import ACTION_SERVER_TOKEN, RASA_TOKEN, Stack
from tests.e2e.webchat_client import WebBorrower

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")


def action_server(stack: Stack) -> str:
    return stack.processes.env["ACTION_SERVER_URL"]  # .../webhook


def test_rasas_http_api_wants_its_token(stack: Stack) -> None:
    tracker = f"{stack.rasa}/conversations/webchat:anyone/tracker"
    assert httpx.get(tracker, timeout=30).status_code == 401
    assert httpx.get(tracker, params={"token": "wrong"}, timeout=30).status_code == 401
    events = f"{tracker}/events"
    injected = httpx.post(events, json=[{"event": "resume"}], timeout=30)
    assert injected.status_code == 401
    with stack.rasa_api() as rasa:
        assert rasa.get("/conversations/webchat:anyone/tracker").status_code == 200


def test_rasas_rest_channel_wants_the_gateways_secret(stack: Stack) -> None:
    url = f"{stack.rasa}/webhooks/rest/webhook"
    body = {"sender": "webchat:intruder", "message": "我还欠多少钱"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": RASA_TOKEN}):
        answer = httpx.post(url, json=body, headers=headers, timeout=30)
        assert answer.status_code == 401, headers
    with stack.rasa_api() as rasa:  # and nothing of it reached a tracker
        events = rasa.get("/conversations/webchat:intruder/tracker").json()["events"]
    assert not [e for e in events if e.get("event") == "user"]


def test_no_action_runs_without_the_action_servers_secret(stack: Stack) -> None:
    chat = WebBorrower(stack.gateway).link(stack, "DEMO-07")
    sender = f"webchat:{chat.sender}"
    call = {
        "next_action": "action_wrong_person",  # would unbind the chat from its borrower
        "sender_id": sender,
        "tracker": {"sender_id": sender, "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.21",
    }
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = httpx.post(action_server(stack), json=call, headers=headers, timeout=30)
        assert answer.status_code == 401, headers
    with stack.api() as api:
        assert api.get(f"/conversations/webchat/{chat.sender}").json()["verified"] is True
    health = action_server(stack).removesuffix("/webhook") + "/health"
    assert httpx.get(health, timeout=30).status_code == 200  # liveness stays open
    # with the secret Rasa sends, the same server answers (an unknown action: nothing runs)
    auth = {"Authorization": f"Bearer {ACTION_SERVER_TOKEN}"}
    unknown = httpx.post(
        action_server(stack), json={**call, "next_action": "no_such"}, headers=auth, timeout=30
    )
    assert unknown.status_code == 404


def test_the_chat_works_and_no_link_token_reaches_the_tracker(stack: Stack) -> None:
    chat = WebBorrower(stack.gateway)
    token = stack.link_token("DEMO-04")  # David Tan, English
    assert "you're verified" in chat.text(f"/start {token}")
    assert "Total owed" in chat.text("how much do i owe")
    with stack.rasa_api() as rasa:
        tracker = rasa.get(
            f"/conversations/webchat:{chat.sender}/tracker", params={"include_events": "ALL"}
        )
    assert tracker.status_code == 200
    assert tracker.json()["slots"]["verified"] is True
    dumped = json.dumps(tracker.json(), ensure_ascii=False)
    assert token not in dumped
    assert '"link_verification"' in dumped  # the backend's answer went in instead


def test_a_link_token_sent_straight_to_rasa_stays_out_of_the_tracker_too(stack: Stack) -> None:
    """A caller of the REST channel other than the gateway (it has the secret) sends Rasa's own
    payload: the channel takes the token out all the same."""
    token = stack.link_token("DEMO-06")
    answer = httpx.post(
        f"{stack.rasa}/webhooks/rest/webhook",
        json={
            "sender": "webchat:direct-link",
            "message": "/verify_token" + json.dumps({"token": token}),
        },
        headers={"Authorization": f"Bearer {RASA_TOKEN}"},
        timeout=60,
    )
    assert answer.status_code == 200
    assert "verified" in " ".join(m.get("text", "") for m in answer.json())
    with stack.rasa_api() as rasa:
        dumped = rasa.get(
            "/conversations/webchat:direct-link/tracker", params={"include_events": "ALL"}
        ).text
    assert token not in dumped
