"""The outbound sender's decisions, with the channel and the backend replaced by fakes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.backend_client import OutboundItem
from bot.hub import MemoryHub
from bot.outbound import Delivery, OutboundSender, WebchatDeliverer
from bot.rasa_client import RasaUnavailable
from bot.telegram_app import TelegramDeliverer

pytestmark = pytest.mark.anyio


def item(**fields: Any) -> OutboundItem:
    base: dict[str, Any] = {
        "id": 1,
        "channel": "webchat",
        "user_id": "borrower-1",
        "text": "您好，我是客服李娜。",
        "sender": "collector",
        "attempts": 1,
    }
    return OutboundItem.of({**base, **fields})


class FakeBackend:
    def __init__(self, items: list[OutboundItem]) -> None:
        self.items = items
        self.reports: list[tuple[int, dict[str, Any]]] = []

    async def claim_outbound(
        self, *, limit: int, lease_seconds: int, channels: list[str]
    ) -> list[OutboundItem]:
        claimed = [i for i in self.items if i.channel in channels][:limit]
        self.items = [i for i in self.items if i not in claimed]
        return claimed

    async def report_delivery(self, outbound_id: int, **report: Any) -> None:
        self.reports.append((outbound_id, report))


class FakeRasa:
    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.resumed: list[str] = []

    async def resume(self, sender: str) -> None:
        if self.down:
            raise RasaUnavailable("ConnectError")
        self.resumed.append(sender)


class TestWebchat:
    async def test_an_open_page_receives_it_and_it_counts_as_delivered(self) -> None:
        hub = MemoryHub()
        async with hub.subscribe("borrower-1") as page:
            delivery = await WebchatDeliverer(hub).deliver(item())
            pushed = page.get_nowait()
        assert delivery.status == "delivered"
        assert pushed == {
            "recipient_id": "borrower-1",
            "text": "您好，我是客服李娜。",
            "from": "collector",
        }

    async def test_with_no_page_open_it_is_stored_for_the_history(self) -> None:
        assert (await WebchatDeliverer(MemoryHub()).deliver(item())).status == "stored"


class TestSender:
    async def test_a_handback_resumes_the_bot_before_the_message_goes(self) -> None:
        backend, rasa = FakeBackend([item(resume_bot=True)]), FakeRasa()
        sender = OutboundSender(
            backend,  # type: ignore[arg-type]
            rasa,  # type: ignore[arg-type]
            {"webchat": WebchatDeliverer(MemoryHub())},
            poll_seconds=0,
        )
        assert await sender.once() == 1
        assert rasa.resumed == ["webchat:borrower-1"]
        assert backend.reports == [
            (
                1,
                {
                    "status": "stored",
                    "channel_message_id": None,
                    "error": None,
                    "retry_after_seconds": None,
                },
            )
        ]

    async def test_rasa_down_puts_a_handback_off_rather_than_leave_the_bot_paused(self) -> None:
        backend = FakeBackend([item(resume_bot=True)])
        sender = OutboundSender(
            backend,  # type: ignore[arg-type]
            FakeRasa(down=True),  # type: ignore[arg-type]
            {"webchat": WebchatDeliverer(MemoryHub())},
            poll_seconds=0,
        )
        await sender.once()
        assert backend.reports[0][1]["status"] == "retry"

    async def test_a_channel_this_gateway_does_not_serve_is_left_for_one_that_does(self) -> None:
        backend = FakeBackend([item(channel="telegram", user_id="42")])
        sender = OutboundSender(
            backend,  # type: ignore[arg-type]
            FakeRasa(),  # type: ignore[arg-type]
            {"webchat": WebchatDeliverer(MemoryHub())},
            poll_seconds=0,
        )
        assert await sender.once() == 0
        assert backend.reports == [] and len(backend.items) == 1


class FakeBot:
    def __init__(self, error: Exception | None = None, fail_times: int = 1) -> None:
        self.error = error
        self.fail_times = fail_times
        self.sent: list[str] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        if self.error is not None and self.fail_times > 0:
            self.fail_times -= 1
            raise self.error
        self.sent.append(text)

        class Sent:
            message_id = 100 + len(self.sent)

        return Sent()


class TestTelegram:
    async def test_delivered_with_the_telegram_message_id(self) -> None:
        bot = FakeBot()
        delivery = await TelegramDeliverer(bot).deliver(item(channel="telegram", user_id="42"))  # type: ignore[arg-type]
        assert delivery == Delivery("delivered", channel_message_id="101")

    async def test_a_passing_network_error_is_tried_again_at_once(self) -> None:
        bot = FakeBot(NetworkError("Bad Gateway"), fail_times=1)
        delivery = await TelegramDeliverer(bot).deliver(item(channel="telegram", user_id="42"))  # type: ignore[arg-type]
        assert delivery.status == "delivered" and bot.sent

    async def test_still_limited_is_retried_after_telegrams_retry_after(self) -> None:
        bot = FakeBot(RetryAfter(dt.timedelta(seconds=7)), fail_times=9)
        delivery = await TelegramDeliverer(bot).deliver(item(channel="telegram", user_id="42"))  # type: ignore[arg-type]
        assert (delivery.status, delivery.retry_after_seconds) == ("retry", 7.0)

    @pytest.mark.parametrize(
        "error", [Forbidden("bot was blocked by the user"), BadRequest("chat not found")]
    )
    async def test_a_blocked_bot_or_a_bad_request_fails_for_good(self, error: Exception) -> None:
        bot = FakeBot(error, fail_times=9)
        delivery = await TelegramDeliverer(bot).deliver(item(channel="telegram", user_id="42"))  # type: ignore[arg-type]
        assert delivery.status == "failed" and bot.sent == []
