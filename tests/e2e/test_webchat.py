"""The web chat channel end to end, through the gateway's web chat API with the real backend,
action server and Rasa behind it: the same journey as on Telegram, and later messages pushed
to the open page."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from tests.e2e.conftest import Stack, eventually


class WebBorrower:
    def __init__(self, stack: Stack, sender: str) -> None:
        self.gateway = stack.gateway
        self.sender = sender
        self.pushed: list[dict[str, Any]] = []

    def say(self, message: str, **metadata: str) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": self.sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        r = httpx.post(f"{self.gateway}/webchat/messages", json=body, timeout=60)
        r.raise_for_status()
        replies: list[dict[str, Any]] = r.json()
        assert all(m["recipient_id"] == self.sender for m in replies)
        return replies

    def text(self, message: str, **metadata: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(message, **metadata))

    def open_page(self) -> None:
        """Follow /webchat/events as the page does, in the background."""
        ready = threading.Event()

        def follow() -> None:
            url = f"{self.gateway}/webchat/events"
            try:
                with httpx.stream("GET", url, params={"sender": self.sender}, timeout=None) as r:
                    for line in r.iter_lines():
                        ready.set()
                        if line.startswith("data: "):
                            self.pushed.append(json.loads(line.removeprefix("data: ")))
            except httpx.HTTPError:
                return  # the stack stopped at the end of the session

        threading.Thread(target=follow, daemon=True).start()
        assert ready.wait(10), "the event stream did not open"


def test_the_borrower_journey_through_the_web_chat_api(stack: Stack) -> None:
    chat = WebBorrower(stack, "web-e2e-journey-0001")
    chat.open_page()
    assert "核实成功" in chat.text(f"/start {stack.link_token('DEMO-10')}")
    assert "应还总额" in chat.text("我现在还欠多少钱")

    confirm = chat.text("我下周五还五百")
    assert "500.00" in confirm and "2026-12-04" in confirm
    assert "已记录" in chat.text("是的")
    with stack.api() as api:
        promises = api.get("/loans/L-DEMO-10/promises").json()
    assert ("500.00", "2026-12-04", "open") in [
        (p["amount"], p["promised_date"], p["status"]) for p in promises
    ]

    assert "人工" in chat.text("/human")
    assert chat.say("我等着") == []  # a person has the chat now
    with stack.api() as api:
        waiting = api.get("/handoffs", params={"status": "waiting"}).json()
        handoff = next(h for h in waiting if h["user_id"] == chat.sender)
        api.post(f"/handoffs/{handoff['id']}/take", json={"collector": "wang.lei"})
        api.post(
            f"/handoffs/{handoff['id']}/reply",
            json={"collector": "wang.lei", "text": "您好，我是客服王磊。"},
        )
        eventually(
            lambda: any(p["text"] == "您好，我是客服王磊。" for p in chat.pushed),
            what="the collector's reply pushed to the open page",
        )
        assert {p["from"] for p in chat.pushed} == {"system", "collector"}
        api.post(f"/handoffs/{handoff['id']}/close", json={"note": ""})
        eventually(lambda: len(chat.pushed) >= 3, what="the hand-back notice")
    assert "应还总额" in chat.text("我现在还欠多少钱")  # the bot is back

    history = httpx.get(
        f"{stack.gateway}/webchat/history", params={"sender": chat.sender}, timeout=30
    ).json()["messages"]
    shown = [m["text"] for m in history]
    assert "我等着" in shown and "您好，我是客服王磊。" in shown
    assert not [t for t in shown if "verify_token" in t]
    assert {m["from"] for m in history} == {"borrower", "bot", "collector", "system"}


def test_a_message_sent_twice_by_the_page_is_answered_once(stack: Stack) -> None:
    chat = WebBorrower(stack, "web-e2e-repeat-0001")
    first = chat.say("你好", message_id="page-msg-1")
    again = chat.say("你好", message_id="page-msg-1")
    assert first and again == []


def test_bad_input_gets_a_clear_answer(stack: Stack) -> None:
    url = f"{stack.gateway}/webchat/messages"
    assert httpx.post(url, json={"sender": "x", "message": "hi"}).status_code == 422
    assert httpx.post(url, json={"sender": "web-e2e-bad-0001", "message": ""}).status_code == 422
    page = httpx.get(f"{stack.gateway}/webchat")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_pages_language_button_switches_to_the_language_picked(stack: Stack) -> None:
    chat = WebBorrower(stack, "web-e2e-language-0001")
    assert "您好" in chat.text("你好")
    assert "English" in chat.text("/language", language="en")
    assert "中文" in chat.text("/language", language="zh")
    assert "中文" in chat.text("/language", language="zh")  # picked, not toggled
