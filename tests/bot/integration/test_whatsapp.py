"""WhatsApp through the gateway, in process, with the real backend app (SQLite and PostgreSQL),
a fake Rasa, and the fake Cloud API over HTTP: Meta's subscription check, its signature on every
call, a borrower's text through the relay and the replies sent back (buttons as reply
buttons), a delivery made twice answered once, a photo answered politely, STOP opting out of
WhatsApp, statuses as receipts, and the outbox's messages only within the 24-hour window."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.conversations.messages import Message
from backend.conversations.service import get_or_create
from backend.outbound import service as outbox
from backend.outbound.models import OutboundMessage
from backend.types import utcnow
from bot.config import SANDBOX_WHATSAPP_SECRET, GatewaySettings
from bot.dedupe import MemorySeen
from bot.main import whatsapp_api
from bot.outbound import OutboundSender
from bot.whatsapp.cloud_api import CloudApi, WhatsAppRefused
from bot.whatsapp.deliverer import OUTSIDE_WINDOW, WhatsAppDeliverer
from bot.whatsapp.sandbox import STATUS_AFTER_SECONDS, SandboxWhatsApp
from bot.whatsapp.webhook import WhatsAppChannel
from tests.bot.fake_whatsapp import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeCloudApi,
    call,
    signature,
    text_message,
)
from tests.bot.integration.test_relay import FakeRasa
from tests.bot.integration.test_webchat_api import gateway_over

pytestmark = pytest.mark.anyio
WA = "8613800138401"


class Stack:
    def __init__(self, db: Session, gateway: httpx.AsyncClient, app: Any, rasa: FakeRasa) -> None:
        self.db, self.gateway, self.app, self.rasa = db, gateway, app, rasa

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        r = await self.gateway.post(
            "/whatsapp/webhook", content=body, headers=headers or signature(body)
        )
        await self.app.state.whatsapp.settle()
        await self.app.state.relay.settle()
        return r

    async def send_outbox(self) -> int:
        sender = OutboundSender(
            self.app.state.relay.backend,
            self.app.state.relay.rasa,
            {"whatsapp": WhatsAppDeliverer(self.app.state.whatsapp.api)},
            poll_seconds=0,
        )
        return await sender.once()


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloudApi]:
    fake = FakeCloudApi()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def stack(db: Session, tmp_path: Path, cloud: FakeCloudApi) -> AsyncIterator[Stack]:
    fake_rasa = FakeRasa()
    settings = {
        "whatsapp_access_token": ACCESS_TOKEN,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_api_base_url": cloud.url,
    }
    async with gateway_over(db, tmp_path, fake_rasa, **settings) as (client, app):
        api = CloudApi(
            base_url=cloud.url, phone_number_id=PHONE_NUMBER_ID, access_token=ACCESS_TOKEN
        )
        app.state.whatsapp = WhatsAppChannel(app.state.relay, api, MemorySeen())
        try:
            yield Stack(db, client, app, fake_rasa)
        finally:
            await app.state.whatsapp.settle()
            await api.aclose()


class TestMetasCalls:
    async def test_the_subscription_check_echoes_the_challenge_for_the_right_token(
        self, stack: Stack
    ) -> None:
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
        r = await stack.gateway.get("/whatsapp/webhook", params=query)
        assert (r.status_code, r.text) == (200, "42")
        wrong = query | {"hub.verify_token": "guess"}
        assert (await stack.gateway.get("/whatsapp/webhook", params=wrong)).status_code == 403

    async def test_a_call_without_metas_signature_is_refused(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        body = call(messages=[text_message(WA, "hi", "wamid.A1")])
        assert (await stack.post(body, {"Content-Type": "application/json"})).status_code == 403
        forged = signature(body, secret="not-the-app-secret")
        assert (await stack.post(body, forged)).status_code == 403
        assert stack.rasa.turns == [] and cloud.sent == []


class TestConversation:
    async def test_a_text_reaches_the_assistant_and_its_replies_come_back(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        cloud.borrower_wrote(WA)
        r = await stack.post(call(messages=[text_message(WA, "你好", "wamid.A2")]))
        assert r.status_code == 200
        [turn] = stack.rasa.turns
        assert (turn["sender"], turn["message"]) == (f"whatsapp:{WA}", "你好")
        assert [m["type"] for m in cloud.sent] == ["text", "interactive"]
        assert cloud.sent[0]["text"]["body"] == "echo 你好"
        buttons = cloud.sent[1]["interactive"]["action"]["buttons"]
        assert buttons == [{"type": "reply", "reply": {"id": "/check_balance", "title": "查余额"}}]
        logged = stack.db.scalars(select(Message.text).order_by(Message.id)).all()
        assert logged[0] == "你好" and "echo 你好" in logged

    async def test_a_button_reply_sends_its_payload_and_logs_its_title(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        cloud.borrower_wrote(WA)
        pressed = {
            "from": WA,
            "id": "wamid.A3",
            "timestamp": str(int(time.time())),
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": "/check_balance", "title": "查余额"},
            },
        }
        await stack.post(call(messages=[pressed]))
        assert stack.rasa.turns[0]["message"] == "/check_balance"
        first = stack.db.scalars(select(Message).order_by(Message.id)).first()
        assert first is not None and first.text == "查余额"

    async def test_a_delivery_made_twice_is_answered_once(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        cloud.borrower_wrote(WA)
        body = call(messages=[text_message(WA, "hello", "wamid.A4")])
        await stack.post(body)
        await stack.post(body)
        assert len(stack.rasa.turns) == 1 and len(cloud.sent) == 2

    async def test_a_photo_is_answered_politely(self, stack: Stack, cloud: FakeCloudApi) -> None:
        cloud.borrower_wrote(WA)
        photo = {"from": WA, "id": "wamid.A5", "timestamp": "1", "type": "image", "image": {}}
        await stack.post(call(messages=[photo]))
        assert cloud.texts_to(WA) == ["抱歉，我只能读取文字消息。请用文字告诉我您需要什么。"]
        assert stack.rasa.turns == []

    async def test_stop_opts_out_of_whatsapp(self, stack: Stack, cloud: FakeCloudApi) -> None:
        cloud.borrower_wrote(WA)
        await stack.post(call(messages=[text_message(WA, "STOP", "wamid.A6")]))
        assert stack.rasa.turns[0]["message"] == "/stop_contact"
        stack.db.expire_all()
        [case] = stack.db.scalars(select(Case).where(Case.kind == "opt_out")).all()
        assert case.conversation.channel == "whatsapp"


class TestTheOutbox:
    def queue(self, stack: Stack, text: str = "您好，我是客服小王。") -> OutboundMessage:
        chat = get_or_create(stack.db, "whatsapp", WA)
        row = outbox.enqueue(stack.db, conversation=chat, text=text, sender="collector")
        stack.db.commit()
        return row

    def heard(self, stack: Stack, hours_ago: float) -> None:
        chat = get_or_create(stack.db, "whatsapp", WA)
        at = utcnow() - timedelta(hours=hours_ago)
        stack.db.add(Message(conversation_id=chat.id, sender="borrower", text="hi", sent_at=at))
        stack.db.commit()

    async def test_within_a_day_of_the_borrowers_message_it_goes(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        self.heard(stack, hours_ago=23)
        cloud.borrower_wrote(WA, time.time() - 23 * 3600)
        row = self.queue(stack)
        assert await stack.send_outbox() == 1
        stack.db.refresh(row)
        assert row.status == "delivered" and row.channel_message_id == cloud.sent[-1]["id"]
        assert cloud.texts_to(WA) == ["您好，我是客服小王。"]
        # Meta's statuses for it become its receipt
        status = {"id": row.channel_message_id, "status": "read", "recipient_id": WA}
        await stack.post(call(statuses=[status]))
        stack.db.refresh(row)
        assert row.receipt == "read"

    async def test_after_a_day_of_silence_it_is_refused_with_the_reason(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        self.heard(stack, hours_ago=25)
        row = self.queue(stack)
        await stack.send_outbox()
        stack.db.refresh(row)
        assert (row.status, row.error) == ("failed", OUTSIDE_WINDOW)
        assert cloud.sent == []  # never tried: Meta would refuse it (131047)


class TestTemplates:
    def queue(self, stack: Stack, template: dict[str, Any]) -> OutboundMessage:
        chat = get_or_create(stack.db, "whatsapp", WA)
        row = outbox.enqueue(
            stack.db, conversation=chat, text="(the body)", sender="system", template=template
        )
        stack.db.commit()
        return row

    async def test_a_template_goes_to_a_number_that_never_wrote(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        template = {"name": "payment_reminder", "language": "zh_CN", "params": ["陈美玲", "L1"]}
        row = self.queue(stack, template)
        assert await stack.send_outbox() == 1
        stack.db.refresh(row)
        assert row.status == "delivered" and row.channel_message_id == cloud.sent[-1]["id"]
        assert cloud.templates_to(WA) == [template]
        assert cloud.texts_to(WA) == []  # the template only, never the free-form text

    async def test_a_template_meta_does_not_know_fails_with_its_reason(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        row = self.queue(stack, {"name": "not_approved", "language": "zh_CN", "params": []})
        await stack.send_outbox()
        stack.db.refresh(row)
        assert row.status == "failed" and "132001" in (row.error or "")

    async def test_the_wrong_number_of_parameters_fails_with_its_reason(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        row = self.queue(stack, {"name": "payment_reminder", "language": "en", "params": ["x"]})
        await stack.send_outbox()
        stack.db.refresh(row)
        assert row.status == "failed" and "132000" in (row.error or "")

    async def test_a_number_not_on_whatsapp_fails_and_is_remembered(
        self, stack: Stack, cloud: FakeCloudApi
    ) -> None:
        chat = get_or_create(stack.db, "whatsapp", "15005550001")
        template = {"name": "payment_reminder", "language": "en", "params": ["A", "L1"]}
        row = outbox.enqueue(
            stack.db, conversation=chat, text="x", sender="system", template=template
        )
        stack.db.commit()
        await stack.send_outbox()
        stack.db.refresh(row)
        assert row.status == "failed"
        assert outbox.not_on_whatsapp(stack.db, ["15005550001", WA]) == {"15005550001"}


class TestTheSandbox:
    """The sandbox `make run` uses: the real CloudApi over the sandbox's transport, and the
    phone's messages through the gateway's own webhook, signed."""

    @pytest.fixture
    async def sandboxed(
        self, db: Session, tmp_path: Path
    ) -> AsyncIterator[tuple[Stack, SandboxWhatsApp]]:
        fake_rasa = FakeRasa()
        async with (
            gateway_over(db, tmp_path, fake_rasa, whatsapp_provider="sandbox") as (client, app),
            contextlib.AsyncExitStack() as closing,
        ):
            api = whatsapp_api(app, app.state.settings, closing)
            app.state.whatsapp = WhatsAppChannel(app.state.relay, api, MemorySeen())
            closing.push_async_callback(app.state.whatsapp.settle)
            yield Stack(db, client, app, fake_rasa), app.state.whatsapp_sandbox

    async def settle(self, stack: Stack) -> None:
        await stack.app.state.whatsapp.settle()
        await stack.app.state.relay.settle()

    async def test_the_phones_reply_reaches_the_assistant_and_its_answer_the_phone(
        self, sandboxed: tuple[Stack, SandboxWhatsApp]
    ) -> None:
        stack, _ = sandboxed
        r = await stack.gateway.post("/sandbox/whatsapp/reply", data={"wa_id": WA, "text": "你好"})
        assert (r.status_code, r.headers["location"]) == (303, "/sandbox/whatsapp")
        await self.settle(stack)
        [turn] = stack.rasa.turns
        assert (turn["sender"], turn["message"]) == (f"whatsapp:{WA}", "你好")
        shown = (await stack.gateway.get("/sandbox/whatsapp/messages")).json()
        assert [(m["direction"], m["kind"]) for m in reversed(shown)] == [
            ("in", "text"),
            ("out", "text"),
            ("out", "interactive"),
        ]
        assert shown[0]["buttons"] == [{"id": "/check_balance", "title": "查余额"}]
        # pressing the button sends its payload
        pressed = {"wa_id": WA, "text": "查余额", "button_id": "/check_balance"}
        await stack.gateway.post("/sandbox/whatsapp/reply", data=pressed)
        await self.settle(stack)
        assert stack.rasa.turns[-1]["message"] == "/check_balance"
        page = await stack.gateway.get("/sandbox/whatsapp")
        assert page.status_code == 200 and "+8613800138401" in page.text

    async def test_statuses_of_the_assistants_own_replies_are_let_go(
        self, sandboxed: tuple[Stack, SandboxWhatsApp], caplog: pytest.LogCaptureFixture
    ) -> None:
        stack, sandbox = sandboxed
        await stack.gateway.post("/sandbox/whatsapp/reply", data={"wa_id": WA, "text": "你好"})
        await self.settle(stack)
        await asyncio.sleep(STATUS_AFTER_SECONDS + 0.3)
        started = time.monotonic()
        await self.settle(stack)
        # they never were in the outbox: nothing to record, nothing retried
        assert time.monotonic() - started < 0.5
        assert [m.status for m in sandbox.messages if m.direction == "out"] == ["delivered"] * 2
        assert "not recorded" not in caplog.text

    async def test_it_keeps_whatsapps_rules_and_says_delivered(
        self, sandboxed: tuple[Stack, SandboxWhatsApp]
    ) -> None:
        stack, sandbox = sandboxed
        chat = get_or_create(stack.db, "whatsapp", WA)
        free = outbox.enqueue(stack.db, conversation=chat, text="hi", sender="collector")
        stack.db.commit()
        api = stack.app.state.whatsapp.api
        with pytest.raises(WhatsAppRefused) as refused:  # nobody wrote: the window is shut
            await api.send(WA, {"type": "text", "text": {"body": "hi"}})
        assert refused.value.code == 131047 and refused.value.final
        template = {"name": "payment_reminder", "language": "zh_CN", "params": ["陈美玲", "L1"]}
        row = outbox.enqueue(
            stack.db, conversation=chat, text="body", sender="system", template=template
        )
        stack.db.commit()
        sender = OutboundSender(
            stack.app.state.relay.backend,
            stack.app.state.relay.rasa,
            {"whatsapp": WhatsAppDeliverer(api)},
            poll_seconds=0,
        )
        await sender.once()  # the free-form one fails (outside the window)...
        await sender.once()  # ...then the template goes
        stack.db.refresh(free)
        stack.db.refresh(row)
        assert free.status == "failed" and row.status == "delivered"
        [sent] = list(sandbox.messages)
        assert sent.template == template
        await asyncio.sleep(STATUS_AFTER_SECONDS + 0.3)  # Meta's "delivered", by the webhook
        await self.settle(stack)
        stack.db.refresh(row)
        assert row.receipt == "delivered"


class TestSettings:
    def production(self, **settings: Any) -> GatewaySettings:
        return GatewaySettings(
            app_env="production",
            service_token=secrets.token_hex(32),
            rasa_token=secrets.token_hex(32),
            webchat_secret=secrets.token_hex(32),
            **settings,
        )

    def test_the_sandbox_is_developments_default_and_signs_with_its_own_secret(self) -> None:
        settings = GatewaySettings(app_env="development")
        assert settings.whatsapp_provider == "sandbox"
        assert settings.whatsapp_app_secret == SANDBOX_WHATSAPP_SECRET

    def test_an_access_token_means_the_cloud_api(self) -> None:
        settings = GatewaySettings(
            whatsapp_access_token=ACCESS_TOKEN,
            whatsapp_phone_number_id=PHONE_NUMBER_ID,
            whatsapp_app_secret=APP_SECRET,
            whatsapp_verify_token=VERIFY_TOKEN,
        )
        assert settings.whatsapp_provider == "cloud"
        with pytest.raises(ValueError, match="WHATSAPP_PROVIDER=cloud needs WHATSAPP_ACCESS_TOKEN"):
            GatewaySettings(whatsapp_provider="cloud")

    def test_production_is_off_by_default_and_refuses_the_sandbox(self) -> None:
        assert self.production().whatsapp_provider == "off"
        with pytest.raises(ValueError, match="WHATSAPP_PROVIDER=sandbox is for development"):
            self.production(whatsapp_provider="sandbox")
