"""Run the real gateway against telegram-test-api, adapting to that fake server's gaps through
python-telegram-bot's own extension point (a request class): its getMe leaves out `is_bot`,
its callback queries leave out `chat_instance`, its editMessageReplyMarkup answers nothing,
and it gives dates in milliseconds. Settings come from the environment as usual."""

from __future__ import annotations

import json
import logging
from typing import Any

import uvicorn
from telegram.request import HTTPXRequest

from bot.config import get_settings
from bot.main import create_app
from bot.telegram_app import build_bot


class FakeServerRequest(HTTPXRequest):
    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, *args, **kwargs)
        try:
            body = json.loads(payload)
        except ValueError:
            return code, payload
        if isinstance(body, dict):
            result = body.get("result")
            if url.endswith("/getMe") and isinstance(result, dict):
                result.setdefault("is_bot", True)
            if url.endswith("/editMessageReplyMarkup") and result is None:
                body["result"] = True  # what Telegram answers for an edited markup
            _fill_gaps(result)
        return code, json.dumps(body).encode()


def _fill_gaps(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill_gaps(item)
    elif isinstance(value, dict):
        date = value.get("date")
        if isinstance(date, int) and date > 10**11:
            value["date"] = date // 1000
        if isinstance(value.get("callback_query"), dict):
            value["callback_query"].setdefault("chat_instance", "fake")
        for item in value.values():
            _fill_gaps(item)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = get_settings()
    bot = build_bot(settings, request_class=FakeServerRequest)
    uvicorn.run(
        create_app(settings, telegram_bot=bot),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="warning",
    )
