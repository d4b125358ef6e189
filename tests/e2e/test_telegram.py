"""The Telegram channel end to end: python-telegram-bot in the real gateway talks over HTTP to a
fake Bot API server (telegram-test-api), with the real backend, action server and Rasa behind."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.e2e.conftest import BOT_TOKEN, Stack, eventually, free_port, seed_database
from tests.e2e.telegram_user import TelegramUser

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")


@contextlib.contextmanager
def rasa_without_a_backend() -> Iterator[str]:
    """Rasa's REST channel as it answers when its backend cannot be reached; its URL."""

    class Channel(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps(
                {"replies": [], "reading": None, "inbound": {"error": "unavailable"}}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Channel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def texts(messages: list[dict]) -> str:  # type: ignore[type-arg]
    return "\n".join(m.get("text", "") for m in messages)


def transcript(stack: Stack, user_id: int | str, channel: str = "telegram") -> list[str]:
    with stack.api() as api:
        page = api.get(f"/conversations/{channel}/{user_id}/messages", params={"limit": 500})
        return [m["text"] for m in page.json()["messages"]]


class TestBorrowerJourney:
    def test_links_verifies_sees_balance_promises_and_reaches_a_person_then_the_bot(
        self, stack: Stack
    ) -> None:
        user = TelegramUser(stack.telegram_api, BOT_TOKEN, 5001)
        token = stack.link_token("DEMO-05")
        assert "核实成功" in texts(user.replies_to(lambda: user.command(f"/start {token}")))
        assert "应还总额" in user.say("我现在还欠多少钱")

        confirm = user.say("我下周五还两千五")
        assert "2500.00" in confirm and "2026-12-04" in confirm
        assert "已记录" in user.say("是的")
        with stack.api() as api:
            promises = api.get("/loans/L-DEMO-05/promises").json()
        assert [(p["amount"], p["promised_date"]) for p in promises] == [("2500.00", "2026-12-04")]

        assert "人工" in texts(user.replies_to(lambda: user.command("/human")))
        with stack.api() as api:
            assert api.get("/conversations/telegram/5001").json()["mode"] == "human"
        # A person has the chat now: the bot stays quiet, the collector reads the message.
        assert user.replies_to(lambda: user.send("请问多久有人回复？"), expect=0) == []
        assert "请问多久有人回复？" in transcript(stack, 5001)

        with stack.api() as api:
            waiting = api.get("/handoffs", params={"status": "waiting"}).json()
            handoff = next(h for h in waiting if h["user_id"] == "5001")
            joined = user.replies_to(
                lambda: api.post(f"/handoffs/{handoff['id']}/take", json={"collector": "li.na"})
            )
            assert "li.na" in texts(joined)
            reply = user.replies_to(
                lambda: api.post(
                    f"/handoffs/{handoff['id']}/reply",
                    json={"collector": "li.na", "text": "您好，我是客服李娜，已看到您的还款承诺。"},
                )
            )
            assert texts(reply) == "您好，我是客服李娜，已看到您的还款承诺。"
            sent = api.get("/conversations/telegram/5001/outbound").json()
            assert {o["status"] for o in sent} == {"delivered"}
            back = user.replies_to(
                lambda: api.post(f"/handoffs/{handoff['id']}/close", json={"note": "PTP noted"})
            )
            assert "智能助手" in texts(back)
        # Handed back: the bot answers again (the Rasa tracker was resumed).
        assert "应还总额" in user.say("我现在还欠多少钱")

    def test_buttons_are_inline_keyboards_with_short_callback_data(self, stack: Stack) -> None:
        user = TelegramUser(stack.telegram_api, BOT_TOKEN, 5002, language="en", name="Ann")
        menu = user.replies_to(lambda: user.command("/help"))
        assert "Hello" in texts(menu)  # a command says nothing of the language: the app's
        keyboard = next(m for m in menu if m.get("reply_markup"))
        rows = keyboard["reply_markup"]["inline_keyboard"]
        buttons = [b for row in rows for b in row]
        assert buttons and all(len(b["callback_data"].encode()) <= 64 for b in buttons)
        title = buttons[0]["text"]
        answered = user.replies_to(lambda: user.press(keyboard, title))
        assert answered  # the button's payload reached the assistant
        assert title in transcript(stack, 5002)  # logged as the borrower saw it

    def test_verifies_with_the_shared_phone_number_and_a_second_factor(self, stack: Stack) -> None:
        user = TelegramUser(stack.telegram_api, BOT_TOKEN, 5003)
        ask = user.replies_to(lambda: user.send("我还欠多少钱"))
        assert "手机号" in texts(ask)
        keyboards = [m["reply_markup"] for m in ask if m.get("reply_markup")]
        assert any(
            b.get("request_contact") for k in keyboards for row in k["keyboard"] for b in row
        ), "a share-my-phone-number button"

        refused = user.replies_to(lambda: user.share_contact("+8613800138001", owner=999))
        assert "本人" in texts(refused)  # someone else's contact card proves nothing

        second = user.replies_to(lambda: user.share_contact("+8613800138001"))
        assert "身份证" in texts(second)
        answered = user.say("123X")
        assert "核实成功" in answered and "应还总额" in answered
        assert any("****8001" in t for t in transcript(stack, 5003))

    def test_what_is_not_text_gets_a_polite_answer(self, stack: Stack) -> None:
        user = TelegramUser(stack.telegram_api, BOT_TOKEN, 5004)
        assert "文字" in texts(user.replies_to(user.send_photo))
        assert "指令" in texts(user.replies_to(lambda: user.command("/balance_now")))

    def test_a_long_message_is_split_within_telegrams_limit(self, stack: Stack) -> None:
        user = TelegramUser(stack.telegram_api, BOT_TOKEN, 5005)
        user.replies_to(lambda: user.send("你好"))
        long_text = "\n".join(f"第{i}条说明：" + "还款事项" * 40 for i in range(40))
        assert len(long_text) > 4096
        with stack.api() as api:
            pieces = user.replies_to(
                lambda: api.post(
                    "/conversations/telegram/5005/outbound",
                    json={"sender": "system", "text": long_text},
                ),
                expect=2,
            )
        assert all(len(p["text"]) <= 4096 for p in pieces)
        assert "\n".join(p["text"] for p in pieces) == long_text


class TestWebhook:
    def test_a_repeated_update_is_answered_once_and_a_forged_one_not_at_all(
        self, stack: Stack
    ) -> None:
        bot_token, secret, hook = "1002:webhook", "e2e-webhook-secret-0123456789", free_port()
        with stack.another_gateway(
            "gateway-webhook",
            bot_token,
            TELEGRAM_MODE="webhook",
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{hook}/telegram",
            TELEGRAM_WEBHOOK_SECRET=secret,
            TELEGRAM_WEBHOOK_PORT=str(hook),
        ):
            self.check_webhook(stack, bot_token, secret, hook)

    def check_webhook(self, stack: Stack, bot_token: str, secret: str, hook: int) -> None:
        user = TelegramUser(stack.telegram_api, bot_token, 6001)
        update = {
            "update_id": 900001,
            "message": {
                "message_id": 41,
                "from": user.user,
                "chat": user.chat,
                "date": int(time.time()),
                "text": "你好",
            },
        }
        url = f"http://127.0.0.1:{hook}/telegram"
        forged = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"})
        assert forged.status_code == 403

        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        first = user.replies_to(lambda: httpx.post(url, json=update, headers=headers))
        again = user.replies_to(lambda: httpx.post(url, json=update, headers=headers), expect=0)
        assert first and again == []
        assert transcript(stack, 6001).count("你好") == 1

        edited = {"update_id": 900002, "edited_message": {**update["message"], "text": "您好"}}
        answer = user.replies_to(lambda: httpx.post(url, json=edited, headers=headers))
        assert "新消息" in texts(answer)


class TestWhenSomethingBehindTheGatewayFails:
    def test_backend_down_gives_an_honest_reply_and_the_message_is_kept(self, stack: Stack) -> None:
        # The backend is down for this gateway and for its Rasa: the stack's Rasa reaches the
        # stack's backend, so this gateway's Rasa answers as Rasa's channel does when its
        # backend is down (tests/rasa/test_gateway_channel.py): no turn, the message not logged.
        bot_token, backend_port = "1003:down", free_port()
        with (
            rasa_without_a_backend() as rasa_url,
            stack.another_gateway(
                "gateway-down",
                bot_token,
                BACKEND_URL=f"http://127.0.0.1:{backend_port}",
                RASA_URL=rasa_url,
            ),
        ):
            self.check_backend_down(stack, bot_token, backend_port)

    def check_backend_down(self, stack: Stack, bot_token: str, backend_port: int) -> None:
        user = TelegramUser(stack.telegram_api, bot_token, 7001)
        honest = user.say("我这个月工资还没发，能不能晚几天还？")
        assert "已保存" in honest

        # The backend comes back (a fresh one on that port): the kept message is logged.
        db = stack.processes.logs / "backend-down.db"
        env = {"DATABASE_URL": f"sqlite:///{db}", "BACKEND_PORT": str(backend_port)}
        seed_database({**stack.processes.env, **env})
        backend = stack.processes.start_procfile("backend", env, log="backend-returns")
        try:
            back = f"http://127.0.0.1:{backend_port}"

            def kept() -> list[str]:
                try:
                    r = httpx.get(
                        f"{back}/api/v1/conversations/telegram/7001/messages",
                        headers={"Authorization": "Bearer e2e-assistant-token"},
                    )
                except httpx.TransportError:
                    return []
                return [m["text"] for m in r.json()["messages"]] if r.status_code == 200 else []

            logged = eventually(kept, seconds=60, what="the kept message logged")
            assert isinstance(logged, list)
            assert "我这个月工资还没发，能不能晚几天还？" in logged
        finally:
            stack.processes.stop(backend)

    def test_rasa_down_gives_an_honest_reply_and_the_message_is_in_the_transcript(
        self, stack: Stack
    ) -> None:
        bot_token = "1004:norasa"
        with stack.another_gateway(
            "gateway-norasa", bot_token, RASA_URL=f"http://127.0.0.1:{free_port()}"
        ):
            user = TelegramUser(stack.telegram_api, bot_token, 7002, language="en")
            honest = user.say("when is my next payment due?")
        assert "/human" in honest and "saved" in honest
        assert "when is my next payment due?" in transcript(stack, 7002)
