"""A borrower on Telegram, played through telegram-test-api's client routes: what they send
reaches the gateway as real Bot API updates; what the bot sends is read back from the server."""

from __future__ import annotations

import time
from typing import Any

import httpx


class TelegramUser:
    def __init__(
        self, api: str, bot_token: str, user_id: int, *, language: str = "zh", name: str = "Wei"
    ) -> None:
        self.api = api
        self.bot_token = bot_token
        self.user_id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}
        self.chat = {"id": user_id, "type": "private", "first_name": name}

    def _post(self, route: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.api}/{route}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {
            "botToken": self.bot_token,
            "from": self.user,
            "chat": self.chat,
            "date": int(time.time()),
            **fields,
        }

    # What the borrower does -----------------------------------------------------------------
    def send(self, text: str) -> None:
        self._post("sendMessage", self._message(text=text))

    def command(self, text: str) -> None:
        length = len(text.split(maxsplit=1)[0])
        entities = [{"offset": 0, "length": length, "type": "bot_command"}]
        self._post("sendCommand", self._message(text=text, entities=entities))

    def share_contact(self, phone: str, *, owner: int | None = None) -> None:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": owner if owner is not None else self.user_id,
        }
        self._post("sendMessage", self._message(contact=contact))

    def send_photo(self) -> None:
        photo = [{"file_id": "photo-1", "file_unique_id": "u-photo-1", "width": 90, "height": 90}]
        self._post("sendMessage", self._message(photo=photo))

    def press(self, message: dict[str, Any], title: str) -> None:
        """Tap the inline button titled `title` under one of the bot's messages."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        data = next((b["callback_data"] for row in rows for b in row if b["text"] == title), None)
        assert data is not None, f"no button {title!r} in {rows}"
        shown = {
            "message_id": message["message_id"],
            "chat": self.chat,
            "date": int(time.time()),
            "text": message["text"],
        }
        self._post(
            "sendCallback",
            {"botToken": self.bot_token, "from": self.user, "message": shown, "data": data},
        )

    # What the bot sent -----------------------------------------------------------------------
    def bot_messages(self) -> list[dict[str, Any]]:
        history = self._post("getUpdatesHistory", {"token": self.bot_token})["result"]
        return [
            {**item["message"], "message_id": item["messageId"]}
            for item in history
            if "message" in item and str(item["message"].get("chat_id")) == str(self.user_id)
        ]

    def replies_to(
        self, act: Any, *, expect: int = 1, settle: float = 1.5, timeout: float = 60
    ) -> list[dict[str, Any]]:
        """Do something, then the bot's new messages once they stop coming (at least `expect`;
        0 to check that nothing comes)."""
        before = len(self.bot_messages())
        act()
        deadline = time.monotonic() + timeout
        last_count, last_change = before, time.monotonic()
        while time.monotonic() < deadline:
            messages = self.bot_messages()
            if len(messages) != last_count:
                last_count, last_change = len(messages), time.monotonic()
            if len(messages) - before >= expect and time.monotonic() - last_change >= settle:
                return messages[before:]
            time.sleep(0.2)
        raise AssertionError(f"expected {expect} bot message(s), got {last_count - before}")

    def say(self, text: str, **kwargs: Any) -> str:
        replies = self.replies_to(lambda: self.send(text), **kwargs)
        return "\n".join(m.get("text", "") for m in replies)
