"""A borrower on the web chat API, as the page and `make chat` talk to it: a session from the
gateway first, then every call with its token. Every end-to-end test that chats on the web
chat uses this one helper."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack


class WebBorrower:
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        session = httpx.post(f"{gateway}/webchat/sessions", timeout=30)
        session.raise_for_status()
        self.sender: str = session.json()["sender"]
        self.headers = {"Authorization": f"Bearer {session.json()['token']}"}
        self.pushed: list[dict[str, Any]] = []

    def say(self, message: str, **metadata: str) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": self.sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        r = httpx.post(
            f"{self.gateway}/webchat/messages", json=body, headers=self.headers, timeout=60
        )
        r.raise_for_status()
        replies: list[dict[str, Any]] = r.json()
        assert all(m["recipient_id"] == self.sender for m in replies)
        return replies

    def text(self, message: str, **metadata: str) -> str:
        return "\n".join(str(m.get("text", "")) for m in self.say(message, **metadata))

    def link(self, stack: Stack, borrower: str) -> WebBorrower:
        """`/start <token>` for a demo borrower, checked: the chat is verified."""
        assert "核实成功" in self.text(f"/start {stack.link_token(borrower)}")
        return self

    def history(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.gateway}/webchat/history", headers=self.headers, timeout=30)
        r.raise_for_status()
        messages: list[dict[str, Any]] = r.json()["messages"]
        return messages

    def open_page(self) -> None:
        """Follow /webchat/events as the page does, in the background."""
        ready = threading.Event()

        def follow() -> None:
            url = f"{self.gateway}/webchat/events"
            try:
                with httpx.stream("GET", url, headers=self.headers, timeout=None) as r:
                    for line in r.iter_lines():
                        ready.set()
                        if line.startswith("data: "):
                            self.pushed.append(json.loads(line.removeprefix("data: ")))
            except httpx.HTTPError:
                return  # the stack stopped at the end of the session

        threading.Thread(target=follow, daemon=True).start()
        assert ready.wait(10), "the event stream did not open"
