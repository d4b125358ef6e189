"""What operators see of the gateway: the request id of a borrower message reaching Rasa (its
metadata) and the backend (X-Request-ID, logged there), and /metrics behind METRICS_TOKEN with
the messages, replies, reply times, Rasa's failures, the spool and outbound deliveries."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.monitoring import logs as backend_logs
from bot import request_ids
from bot.backend_client import BackendClient, OutboundItem
from bot.outbound import Delivery, OutboundSender
from bot.rasa_client import RasaClient
from bot.relay import Incoming, Relay
from bot.spool import Spool
from tests.backend.apps import app_over
from tests.backend.logging_state import kept_logging
from tests.bot.integration.test_relay import TOKEN, FakeRasa
from tests.bot.integration.test_webchat_api import bearer, gateway_app, session

pytestmark = pytest.mark.anyio
METRICS_TOKEN = "metrics-token-for-tests"


class Recorded(httpx.AsyncBaseTransport):
    """Passes requests on, keeping their X-Request-ID headers."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.request_ids: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.request_ids.append(request.headers.get(request_ids.HEADER))
        return await self.inner.handle_async_request(request)


class Parts:
    def __init__(self, db: Session, tmp_path: Path) -> None:
        backend_app = app_over(
            db,
            Settings(
                app_env="test",
                database_url=f"sqlite:///{tmp_path / 'unused.db'}",
                service_token=TOKEN,
            ),
        )
        self.to_backend = Recorded(httpx.ASGITransport(app=backend_app))
        self.fake_rasa = FakeRasa()
        self.to_rasa = Recorded(httpx.MockTransport(self.fake_rasa.handler))
        self.backend = BackendClient("http://backend", TOKEN, transport=self.to_backend)
        # one attempt a turn: tests/bot/unit/test_rasa_retries.py tries them again
        self.rasa = RasaClient("http://rasa", retry_seconds=0, transport=self.to_rasa)
        self.spool = Spool(tmp_path / "spool.sqlite3")
        self.relay = Relay(self.backend, self.rasa, self.spool)

    async def close(self) -> None:
        await self.relay.settle()  # the replies it logs after answering
        await self.backend.aclose()
        await self.rasa.aclose()
        self.spool.close()


@pytest.fixture
async def parts(db: Session, tmp_path: Path) -> AsyncIterator[Parts]:
    made = Parts(db, tmp_path)
    yield made
    await made.close()


@pytest.fixture
async def gateway(parts: Parts) -> AsyncIterator[httpx.AsyncClient]:
    app = gateway_app(parts.backend, parts.rasa, parts.spool, metrics_token=METRICS_TOKEN)
    app.state.relay = parts.relay
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        yield client


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TestRequestIds:
    async def test_one_id_per_message_to_rasas_metadata_and_every_backend_call(
        self, parts: Parts
    ) -> None:
        await parts.relay.handle(Incoming("telegram", "42", "你好", external_id="m1"))
        await parts.relay.handle(Incoming("telegram", "42", "还在吗", external_id="m2"))
        first, second = (turn["metadata"]["request_id"] for turn in parts.fake_rasa.turns)
        assert first != second and request_ids.well_formed(first) == first
        assert set(parts.to_rasa.request_ids) == {first, second}
        assert set(parts.to_backend.request_ids) == {first, second}
        assert request_ids.current() is None  # nothing left behind for the next update

    async def test_the_web_chat_calls_id_is_the_messages(
        self, gateway: httpx.AsyncClient, parts: Parts
    ) -> None:
        sender, token = await session(gateway)
        given = "0123456789abcdef0123456789abcdef"  # as nginx sets it
        r = await gateway.post(
            "/webchat/messages",
            json={"sender": sender, "message": "你好"},
            headers={**bearer(token), "X-Request-ID": given},
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == given
        assert parts.fake_rasa.turns[0]["metadata"]["request_id"] == given
        assert set(parts.to_backend.request_ids) == {given}

    async def test_the_backend_logs_the_gateways_id(self, parts: Parts) -> None:
        stream = io.StringIO()
        with kept_logging():
            backend_logs.configure(as_json=True, stream=stream)
            await parts.relay.handle(Incoming("webchat", "w-borrower-1", "你好", external_id="w1"))
            await parts.relay.settle()
        sent = parts.fake_rasa.turns[0]["metadata"]["request_id"]
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        access = [line for line in lines if line["logger"] == "backend.access"]
        assert access and {line["request_id"] for line in access} == {sent}
        turn = [line for line in lines if line["logger"] == "bot.relay"]
        assert turn[0]["request_id"] == sent and turn[0]["outcome"] == "answered"
        assert turn[0]["channel"] == "webchat" and turn[0]["replies"] == 2
        # No words, no chat: the gateway's line and the backend's alike.
        assert "你好" not in stream.getvalue() and "w-borrower-1" not in stream.getvalue()


class TestMetrics:
    async def test_only_with_the_metrics_token(self, gateway: httpx.AsyncClient) -> None:
        assert (await gateway.get("/metrics")).status_code == 401
        wrong = await gateway.get("/metrics", headers=bearer("not-the-metrics-token"))
        assert wrong.status_code == 401
        assert (await gateway.get("/metrics", headers=bearer(METRICS_TOKEN))).status_code == 200

    async def test_no_metrics_token_configured_means_no_metrics(self, parts: Parts) -> None:
        app = gateway_app(parts.backend, parts.rasa, parts.spool)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            assert (await client.get("/metrics", headers=bearer(METRICS_TOKEN))).status_code == 404

    async def test_a_web_chat_message_is_counted_answered_and_timed(
        self, gateway: httpx.AsyncClient
    ) -> None:
        received = value("gateway_messages_received_total", channel="webchat", outcome="answered")
        replies = value("gateway_replies_sent_total", channel="webchat")
        timed = value("gateway_reply_seconds_count", channel="webchat")
        sender, token = await session(gateway)
        r = await gateway.post(
            "/webchat/messages", json={"sender": sender, "message": "你好"}, headers=bearer(token)
        )
        assert len(r.json()) == 2
        text = (await gateway.get("/metrics", headers=bearer(METRICS_TOKEN))).text
        assert (
            value("gateway_messages_received_total", channel="webchat", outcome="answered")
            == received + 1
        )
        assert value("gateway_replies_sent_total", channel="webchat") == replies + 2
        assert value("gateway_reply_seconds_count", channel="webchat") == timed + 1
        assert "gateway_spool_kept_batches 0.0" in text
        assert "gateway_spool_set_aside_batches 0.0" in text
        assert 'gateway_reply_seconds_bucket{channel="webchat",le="0.5"}' in text
        assert sender not in text and "你好" not in text

    async def test_a_message_being_handled_is_in_progress_until_answered(
        self, parts: Parts
    ) -> None:
        # What a replica that dies takes with it (the fault matrix kills one while it is > 0).
        answering = asyncio.Event()

        class Slow(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                await answering.wait()
                return await parts.to_rasa.handle_async_request(request)

        parts.relay.rasa = RasaClient("http://rasa", retry_seconds=0, transport=Slow())
        before = value("gateway_messages_in_progress", channel="telegram")
        handling = asyncio.create_task(
            parts.relay.handle(Incoming("telegram", "47", "你好", external_id="m9"))
        )
        for _ in range(500):  # until it is waiting for Rasa
            if value("gateway_messages_in_progress", channel="telegram") != before:
                break
            await asyncio.sleep(0.01)
        assert value("gateway_messages_in_progress", channel="telegram") == before + 1
        answering.set()
        assert (await handling).result == "answered"
        assert value("gateway_messages_in_progress", channel="telegram") == before
        await parts.relay.rasa.aclose()

    async def test_rasa_failures_are_counted_by_kind(self, parts: Parts) -> None:
        before = value("gateway_rasa_errors_total", call="turn", kind="connection")
        down = value(
            "gateway_messages_received_total", channel="telegram", outcome="assistant_down"
        )
        parts.fake_rasa.down = True
        outcome = await parts.relay.handle(Incoming("telegram", "43", "你好", external_id="m3"))
        assert outcome.result == "assistant_down"
        assert value("gateway_rasa_errors_total", call="turn", kind="connection") == before + 1
        assert (
            value("gateway_messages_received_total", channel="telegram", outcome="assistant_down")
            == down + 1
        )

    async def test_a_kept_message_shows_in_the_spool_depth(
        self, gateway: httpx.AsyncClient, parts: Parts
    ) -> None:
        await parts.spool.keep("telegram", "44", [{"sender": "borrower", "text": "在吗"}])
        text = (await gateway.get("/metrics", headers=bearer(METRICS_TOKEN))).text
        assert "gateway_spool_kept_batches 1.0" in text

    async def test_outbound_deliveries_by_channel_and_result(self) -> None:
        class Backend:
            async def report_delivery(self, outbound_id: int, **report: Any) -> None: ...

        class Failing:
            async def deliver(self, item: OutboundItem) -> Delivery:
                return Delivery("failed", error="forbidden: bot was blocked by the user")

        sender = OutboundSender(
            Backend(),  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            {"telegram": Failing()},
            poll_seconds=1,
        )
        before = value("gateway_outbound_deliveries_total", channel="telegram", status="failed")
        item = OutboundItem.of(
            {"id": 7, "channel": "telegram", "user_id": "45", "text": "提醒", "attempts": 1}
        )
        await sender._deliver(item)
        assert (
            value("gateway_outbound_deliveries_total", channel="telegram", status="failed")
            == before + 1
        )


async def test_telegram_replies_are_counted_and_timed_once_sent() -> None:
    from types import SimpleNamespace

    from bot.relay import Outcome, Reply
    from bot.telegram_handlers import answer

    sent: list[str] = []

    class Bot:
        async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
            sent.append(text)
            return SimpleNamespace(message_id=len(sent))

    sending: list[asyncio.Task[None]] = []  # PTB's create_task: the replies go out after

    def create_task(coroutine: Any, update: object = None) -> None:
        sending.append(asyncio.ensure_future(coroutine))

    update = SimpleNamespace(effective_chat=SimpleNamespace(id=46))
    context = SimpleNamespace(bot=Bot(), application=SimpleNamespace(create_task=create_task))
    replies = value("gateway_replies_sent_total", channel="telegram")
    timed = value("gateway_reply_seconds_count", channel="telegram")
    outcome = Outcome([Reply("您好"), Reply("还有什么可以帮您？")], "zh")
    await answer(update, context, outcome, started=time.perf_counter())  # type: ignore[arg-type]
    await answer(update, context, Outcome([], "zh", result="human"))  # type: ignore[arg-type]
    await asyncio.gather(*sending)
    assert sent == ["您好", "还有什么可以帮您？"]
    assert value("gateway_replies_sent_total", channel="telegram") == replies + 2
    assert value("gateway_reply_seconds_count", channel="telegram") == timed + 1
