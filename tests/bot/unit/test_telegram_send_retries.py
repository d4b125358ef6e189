"""A reply to a borrower that Telegram refuses for now (429, a 5xx, out of reach) is sent
again until Telegram takes it, within a limit; one it refuses for good is not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot import metrics
from bot.relay import Reply
from bot.telegram_handlers import send_patiently

pytestmark = pytest.mark.anyio


class Bot:
    """Telegram's sendMessage, failing with `failures` first."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.sent: list[str] = []
        self.tries = 0

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(text)
        return SimpleNamespace(message_id=len(self.sent))


def retries() -> float:
    return metrics.TELEGRAM_SEND_RETRIES._value.get()


@pytest.mark.parametrize(
    "failures",
    [
        (RetryAfter(0),),
        (NetworkError("Bad Gateway"),),
        (TimedOut(), RetryAfter(0), NetworkError("Internal Server Error")),
    ],
)
async def test_a_reply_telegram_refuses_for_now_is_sent_once_it_takes_it(
    failures: tuple[Exception, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.telegram_handlers.FIRST_PAUSE", 0.01)
    monkeypatch.setattr("bot.telegram_handlers.LONGEST_PAUSE", 0.01)
    bot, before = Bot(*failures), retries()
    sent = await send_patiently(bot, 42, Reply("您好"), "zh", seconds=30)
    assert bot.sent == ["您好"] and sent == [1]
    assert retries() - before == len(failures)


async def test_a_refusal_for_good_is_not_tried_again() -> None:
    bot = Bot(BadRequest("Chat not found"))
    with pytest.raises(BadRequest):
        await send_patiently(bot, 42, Reply("您好"), "zh")
    assert bot.tries == 1


async def test_it_gives_up_when_telegram_would_take_too_long() -> None:
    bot = Bot(RetryAfter(60))
    with pytest.raises(RetryAfter):
        await send_patiently(bot, 42, Reply("您好"), "zh", seconds=5)
    assert bot.tries == 1 and bot.sent == []
