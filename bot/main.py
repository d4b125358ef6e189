"""The gateway process: an ASGI app (the web chat) that also runs the Telegram bot, the
outbound sender and the spool of kept messages, all on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, disable_created_metrics
from telegram.error import TelegramError
from telegram.ext import Application

from bot import metrics
from bot.backend_client import BackendClient
from bot.body_limit import BodyLimit
from bot.config import GatewaySettings, get_settings
from bot.dedupe import MemorySeen, RedisSeen, SeenUpdates
from bot.hot_route import HotMessages
from bot.hub import Hub, MemoryHub, RedisHub
from bot.observe import ObservedRequests
from bot.outbound import Deliverer, OutboundSender, WebchatDeliverer
from bot.rasa_client import RasaClient
from bot.receipts import Receipt, forward_receipt
from bot.relay import Relay
from bot.sms.deliverer import SmsDeliverer
from bot.sms.routes import sandbox_router, twilio_router
from bot.sms.sandbox import SandboxSms
from bot.sms.setup import build_provider
from bot.spool import Spool
from bot.telegram_app import TelegramDeliverer, build_application, build_bot, start_receiving
from bot.turn_log import TurnLog
from bot.validation_errors import validation_error
from bot.webchat import STATIC, RateLimit, router
from bot.webchat_sessions import SessionTokens
from bot.whatsapp.cloud_api import CloudApi
from bot.whatsapp.deliverer import WhatsAppDeliverer
from bot.whatsapp.sandbox import SANDBOX_PHONE_NUMBER_ID, SandboxWhatsApp
from bot.whatsapp.sandbox_routes import router as whatsapp_sandbox_router
from bot.whatsapp.webhook import WhatsAppChannel
from bot.whatsapp.webhook import router as whatsapp_router

log = logging.getLogger(__name__)

SPOOL_FLUSH_SECONDS = 5.0
TELEGRAM_RETRY_SECONDS = 10.0


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            await _start(app, settings, stack)
            yield

    app = FastAPI(title="Borrower assistant gateway", lifespan=lifespan)
    app.state.settings = settings
    app.state.telegram = "off"
    app.state.webchat_tokens = SessionTokens(
        settings.webchat_secret, idle_seconds=settings.webchat_idle_days * 86_400
    )
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(HotMessages)  # innermost: the message call's common case, sooner
    app.add_middleware(BodyLimit, max_bytes=settings.gateway_max_body_bytes)
    app.add_middleware(ObservedRequests)  # outermost: a 413 has its id and access line too
    app.include_router(router)
    app.include_router(metrics.router)
    if settings.whatsapp_provider != "off":
        app.include_router(whatsapp_router)
    if settings.whatsapp_provider == "sandbox":
        app.include_router(whatsapp_sandbox_router)
    if settings.sms_provider == "twilio":
        app.include_router(twilio_router)
    elif settings.sms_provider == "sandbox":
        app.include_router(sandbox_router)
    disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
    metrics.show_zeroes()
    app.state.figures_registry = CollectorRegistry()  # this app's own: tests build many
    app.state.figures_registry.register(metrics.SpoolFigures(lambda: _spool_of(app)))
    app.mount("/webchat/static", StaticFiles(directory=STATIC), name="webchat-static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        spool = app.state.relay.spool
        return {
            "telegram": app.state.telegram,
            "kept_messages": spool.pending(),
            "set_aside_messages": spool.set_aside_count(),
        }

    return app


def whatsapp_api(
    app: FastAPI, settings: GatewaySettings, stack: contextlib.AsyncExitStack
) -> CloudApi:
    """Meta's Cloud API, or the sandbox standing in for it (and for the borrower's phone, whose
    messages reach this gateway's own webhook, signed as Meta signs them)."""
    if settings.whatsapp_provider == "cloud":
        api = CloudApi(
            base_url=settings.whatsapp_api_base_url,
            phone_number_id=settings.whatsapp_phone_number_id,
            access_token=settings.whatsapp_access_token,
        )
        stack.push_async_callback(api.aclose)
        return api
    sandbox = SandboxWhatsApp()
    stack.push_async_callback(sandbox.aclose)
    api = CloudApi(
        base_url="http://whatsapp.sandbox/v21.0",
        phone_number_id=SANDBOX_PHONE_NUMBER_ID,
        access_token="sandbox",  # noqa: S106
        transport=sandbox,
    )
    stack.push_async_callback(api.aclose)
    own = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    stack.push_async_callback(own.aclose)

    async def webhook(payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        signature = hmac.new(settings.whatsapp_app_secret.encode(), body, hashlib.sha256)
        await own.post(
            "/whatsapp/webhook",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": f"sha256={signature.hexdigest()}",
            },
        )

    sandbox.webhook = webhook
    app.state.whatsapp_sandbox = sandbox
    return api


def _spool_of(app: FastAPI) -> Spool | None:
    relay: Relay | None = getattr(app.state, "relay", None)
    return relay.spool if relay is not None else None


async def _start(
    app: FastAPI,
    settings: GatewaySettings,
    stack: contextlib.AsyncExitStack,
) -> None:
    backend = BackendClient(
        settings.backend_url, settings.service_token, timeout=settings.backend_timeout_seconds
    )
    stack.push_async_callback(backend.aclose)
    rasa = RasaClient(
        settings.rasa_url,
        token=settings.rasa_token,
        timeout=settings.rasa_timeout_seconds,
        connections=settings.rasa_connections,
    )
    stack.push_async_callback(rasa.aclose)
    spool = Spool(settings.spool_path, max_failures=settings.spool_max_failures)
    stack.callback(spool.close)

    hub: Hub
    seen: SeenUpdates
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url)
        stack.push_async_callback(redis.aclose)
        hub, seen = RedisHub(redis), RedisSeen(redis)
    else:
        hub, seen = MemoryHub(), MemorySeen()

    relay = Relay(backend, rasa, spool, TurnLog(backend, spool, wait=settings.turn_log_seconds))
    stack.push_async_callback(relay.settle)  # before the client and the spool close
    app.state.relay = relay
    app.state.hub = hub
    app.state.webchat_limit = RateLimit(settings.webchat_messages_per_minute)

    deliverers: dict[str, Deliverer] = {"webchat": WebchatDeliverer(hub)}
    sms = build_provider(settings)
    if sms is not None:
        stack.push_async_callback(sms.aclose)
        deliverers["sms"] = SmsDeliverer(sms)
        if isinstance(sms, SandboxSms):

            async def receipt(r: Receipt) -> None:
                await forward_receipt(backend, "sms", r)

            sms.on_receipt = receipt
    app.state.sms_provider = sms
    if settings.whatsapp_provider != "off":
        api = whatsapp_api(app, settings, stack)
        app.state.whatsapp = WhatsAppChannel(relay, api, seen)
        stack.push_async_callback(app.state.whatsapp.settle)
        deliverers["whatsapp"] = WhatsAppDeliverer(api)
    app.state.sms_webchat_url = settings.gateway_public_url.rstrip("/") + "/webchat"
    tasks: list[asyncio.Task[Any]] = []
    if settings.telegram_bot_token:
        webhook = settings.telegram_mode == "webhook"
        application = build_application(
            build_bot(settings), webhook=webhook, relay=relay, seen=seen
        )
        deliverers["telegram"] = TelegramDeliverer(application.bot)
        tasks.append(asyncio.create_task(_run_telegram(app, application, settings)))

    sender = OutboundSender(backend, rasa, deliverers, poll_seconds=settings.outbound_poll_seconds)
    tasks.append(asyncio.create_task(sender.run()))
    tasks.append(asyncio.create_task(_flush_forever(spool, backend)))

    async def stop_tasks() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(stop_tasks)


async def _run_telegram(
    app: FastAPI, application: Application[Any, Any, Any, Any, Any, Any], settings: GatewaySettings
) -> None:
    """Start the bot, trying again while Telegram is unreachable (the web chat works
    meanwhile), and stop it cleanly when the gateway stops."""
    app.state.telegram = "starting"
    while True:
        try:
            await application.initialize()
            await application.start()
            await start_receiving(application, settings)
            break
        except TelegramError as exc:
            log.warning("Telegram not reachable yet (%s); retrying", exc)
            await asyncio.sleep(TELEGRAM_RETRY_SECONDS)
    app.state.telegram = settings.telegram_mode
    try:
        await asyncio.Event().wait()
    finally:
        app.state.telegram = "off"
        updater = application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()


async def _flush_forever(spool: Spool, backend: BackendClient) -> None:
    while True:
        await asyncio.sleep(SPOOL_FLUSH_SECONDS)
        try:
            await spool.flush(backend)
        except Exception:
            log.exception("flushing kept messages failed")
