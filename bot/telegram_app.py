"""The python-telegram-bot Application: its rate limiter, its polling or webhook runner, and
the outbound deliverer that sends through the same bot."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ExtBot
from telegram.request import HTTPXRequest
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tornado.httpserver import HTTPServer

from bot.backend_client import OutboundItem
from bot.config import GatewaySettings
from bot.outbound import Delivery
from bot.relay import Reply
from bot.telegram_handlers import add_handlers, retry_after_seconds, send_reply

log = logging.getLogger(__name__)

WEBHOOK_PATH = "telegram"
# Telegram's updates are a few KB; PTB's webhook server (Tornado) would read 100 MB.
WEBHOOK_MAX_BODY_BYTES = 1 << 20


def limit_webhook_bodies(max_bytes: int = WEBHOOK_MAX_BODY_BYTES) -> None:
    """Every Tornado HTTP server of this process (only PTB's webhook server) refuses bodies
    above `max_bytes`, counting as they arrive: PTB builds the server without a way to pass it."""
    HTTPServer.configure(None, max_body_size=max_bytes)


def build_bot(settings: GatewaySettings) -> ExtBot[Any]:
    """The bot, pointed at TELEGRAM_API_BASE_URL, sending within Telegram's limits: the rate
    limiter waits out 429s (Retry-After) and spaces messages per chat and overall."""
    assert settings.telegram_bot_token
    return ExtBot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=15),
        get_updates_request=HTTPXRequest(read_timeout=30),
        # One message per 1/rate seconds, not `rate` at once then `rate` a second: a leaky
        # bucket as deep as the rate let 60 through in one second after an idle spell.
        rate_limiter=AIORateLimiter(
            overall_max_rate=1,
            overall_time_period=1 / settings.telegram_messages_per_second,
            max_retries=3,
        ),
    )


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class HandledOnDelivery(asyncio.Queue[object]):
    """The webhook's update queue: an update put in is handled before `put` returns, so PTB's
    webhook answers Telegram only once the update is handled, and Telegram delivers it again
    when the gateway died before that (PTB's own queue answers at once: an update in it would
    die with the gateway). Updates still run concurrently: each webhook call is one."""

    def __init__(self) -> None:
        super().__init__()
        self.application: AnyApplication | None = None

    async def put(self, item: object) -> None:
        if self.application is None or not isinstance(item, Update):
            await super().put(item)
            return
        app = self.application  # as PTB's own fetcher does, within its concurrency limit
        await app.update_processor.process_update(item, app.process_update(item))


def build_application(
    bot: ExtBot[Any], *, webhook: bool = False, **bot_data: Any
) -> AnyApplication:
    # Updates run concurrently (one slow turn does not hold up other chats); the relay keeps
    # each chat's turns in order.
    builder = Application.builder().bot(bot).concurrent_updates(True)
    queue = HandledOnDelivery() if webhook else None
    if queue is not None:
        builder = builder.update_queue(queue)
    application = builder.build()
    if queue is not None:
        queue.application = application
    application.bot_data.update(bot_data)
    add_handlers(application)
    return application


async def start_receiving(application: AnyApplication, settings: GatewaySettings) -> None:
    updater = application.updater
    assert updater is not None
    if settings.telegram_mode == "webhook":
        assert settings.telegram_webhook_url and settings.telegram_webhook_secret
        limit_webhook_bodies()
        await updater.start_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=WEBHOOK_PATH,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("Telegram: webhook on port %d", settings.telegram_webhook_port)
    else:
        await updater.start_polling(
            poll_interval=settings.telegram_poll_interval, allowed_updates=Update.ALL_TYPES
        )
        log.info("Telegram: polling %s", settings.telegram_api_base_url)


def _transient(exc: BaseException) -> bool:
    """Worth another try now: the network or Telegram's 5xx (PTB raises NetworkError for both;
    BadRequest is one too, but trying again will not fix it)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


class TelegramDeliverer:
    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def deliver(self, item: OutboundItem) -> Delivery:
        reply = Reply(item.text, list(item.buttons or []), message_id=item.message_id)
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_transient),
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=0.5, max=5),
                reraise=True,
            ):
                with attempt:
                    sent = await send_reply(
                        self.bot, int(item.user_id), reply, item.language or "zh"
                    )
        except RetryAfter as exc:  # still limited after the rate limiter's own retries
            return Delivery("retry", error="429", retry_after_seconds=retry_after_seconds(exc))
        except Forbidden as exc:  # blocked the bot, or never started it
            return Delivery("failed", error=f"forbidden: {exc.message}")
        except BadRequest as exc:
            return Delivery("failed", error=f"bad request: {exc.message}")
        except TelegramError as exc:
            return Delivery("retry", error=f"{type(exc).__name__}: {exc.message}")
        return Delivery("delivered", channel_message_id=str(sent[-1]) if sent else None)
