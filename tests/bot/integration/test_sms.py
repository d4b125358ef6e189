"""SMS through the gateway, in process, with the real backend app (SQLite and PostgreSQL) and
the fake Twilio API over HTTP: the outbox's texts handed to Twilio by the `twilio` library,
Twilio's refusals as final or worth another try, its signed status callbacks written back as
receipts, a borrower's "STOP" / "退订" opting them out of SMS, any other text answered with the
chat's address, a duplicate delivery answered once, an unsigned call refused; and the sandbox
provider's page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.outbound import service as outbox
from backend.outbound.models import OutboundMessage
from backend.outreach.first_contact import sms_conversation
from backend.types import utcnow
from bot.backend_client import BackendClient, BackendUnavailable
from bot.outbound import OutboundSender
from bot.rasa_client import RasaClient
from bot.sms.deliverer import SmsDeliverer
from bot.sms.sandbox import SandboxSms
from bot.sms.twilio_sms import TwilioSms
from tests.backend import factories
from tests.bot.fake_twilio import AUTH_TOKEN, SID, FakeTwilio, call_back
from tests.bot.integration.test_relay import FakeRasa
from tests.bot.integration.test_webchat_api import gateway_over

pytestmark = pytest.mark.anyio
PUBLIC = "http://gateway"
SENDER = "+14155550100"


class Stack:
    def __init__(
        self, db: Session, gateway: httpx.AsyncClient, backend: BackendClient, app: Any
    ) -> None:
        self.db, self.gateway, self.backend, self.app = db, gateway, backend, app

    def queue(self, phone: str, text: str = "您的借款 L1 应还 100.00 CNY。") -> OutboundMessage:
        """A text in the outbox to a borrower with this number, as the reminders queue one."""
        borrower = factories.borrower(self.db, ref=f"B{phone[-4:]}", phone_e164=phone)
        chat = sms_conversation(self.db, borrower, now=utcnow())
        row = outbox.enqueue(self.db, conversation=chat, text=text, sender="system")
        self.db.commit()
        return row

    async def send_all(self) -> int:
        rasa = RasaClient("http://rasa", transport=httpx.MockTransport(FakeRasa().handler))
        sender = OutboundSender(
            self.backend, rasa, {"sms": SmsDeliverer(self.app.state.sms_provider)}, poll_seconds=0
        )
        return await sender.once()


async def _stack(
    db: Session, tmp_path: Path, provider: Any, **settings: Any
) -> AsyncIterator[Stack]:
    async with gateway_over(db, tmp_path, gateway_public_url=PUBLIC, **settings) as (client, app):
        app.state.sms_provider = provider
        app.state.sms_webchat_url = f"{PUBLIC}/webchat"
        try:
            yield Stack(db, client, app.state.relay.backend, app)
        finally:
            await provider.aclose()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def stack(db: Session, tmp_path: Path, twilio: FakeTwilio) -> AsyncIterator[Stack]:
    provider = TwilioSms(
        account_sid=SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        status_callback=f"{PUBLIC}/sms/twilio/status",
        api_base_url=twilio.url,
    )
    settings = {
        "sms_provider": "twilio",
        "twilio_account_sid": SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": SENDER,
    }
    async for s in _stack(db, tmp_path, provider, **settings):
        yield s


def opt_outs(db: Session) -> list[tuple[str, str]]:
    db.expire_all()
    return [
        (case.conversation.channel, case.status)
        for case in db.scalars(select(Case).where(Case.kind == "opt_out"))
    ]


class TestSendingThroughTwilio:
    async def test_the_outbox_text_goes_to_twilio_and_its_id_is_kept(
        self, stack: Stack, twilio: FakeTwilio
    ) -> None:
        row = stack.queue("+8613800138201")
        assert await stack.send_all() == 1
        [sent] = twilio.sent
        assert (sent["To"], sent["From"], sent["Body"]) == (
            "+8613800138201",
            SENDER,
            "您的借款 L1 应还 100.00 CNY。",
        )
        assert sent["StatusCallback"] == f"{PUBLIC}/sms/twilio/status"
        stack.db.refresh(row)
        assert (row.status, row.channel_message_id) == ("delivered", sent["Sid"])

    async def test_an_invalid_number_fails_at_once(self, stack: Stack) -> None:
        row = stack.queue("+15005550001")
        await stack.send_all()
        stack.db.refresh(row)
        assert row.status == "failed" and "21211" in (row.error or "")

    async def test_twilio_failing_or_busy_is_tried_again(self, stack: Stack) -> None:
        failing, busy = stack.queue("+15005550009"), stack.queue("+15005550010")
        await stack.send_all()
        for row in (failing, busy):
            stack.db.refresh(row)
            assert (row.status, row.attempts) == ("pending", 1)
        assert busy.next_attempt_at - utcnow() > timedelta(seconds=50)  # Twilio's 429: a minute


class TestTwilioCallingBack:
    async def test_a_status_callback_becomes_the_messages_receipt(
        self, stack: Stack, twilio: FakeTwilio
    ) -> None:
        row = stack.queue("+8613800138202")
        await stack.send_all()
        sid = twilio.sent[0]["Sid"]
        form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": SID}
        r = await call_back(stack.gateway, PUBLIC, "/sms/twilio/status", form)
        assert r.status_code == 204
        stack.db.refresh(row)
        assert row.receipt == "delivered"
        failed = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        await call_back(stack.gateway, PUBLIC, "/sms/twilio/status", failed)
        stack.db.refresh(row)
        assert (row.receipt, row.error) == ("failed", "Twilio error 30003")

    async def test_a_call_without_twilios_signature_is_refused(
        self, stack: Stack, twilio: FakeTwilio
    ) -> None:
        row = stack.queue("+8613800138203")
        await stack.send_all()
        form = {"MessageSid": twilio.sent[0]["Sid"], "MessageStatus": "delivered"}
        r = await stack.gateway.post("/sms/twilio/status", data=form)
        assert r.status_code == 403
        forged = {"X-Twilio-Signature": "c2lnbmVk"}
        r = await stack.gateway.post("/sms/twilio/status", data=form, headers=forged)
        assert r.status_code == 403
        stop = {"From": "+8613800138203", "Body": "STOP", "MessageSid": "SMin1"}
        assert (await stack.gateway.post("/sms/twilio/inbound", data=stop)).status_code == 403
        stack.db.refresh(row)
        assert row.receipt is None and opt_outs(stack.db) == []

    async def test_stop_by_sms_opts_the_borrower_out_of_sms(self, stack: Stack) -> None:
        stack.queue("+8613800138204")
        form = {"From": "+8613800138204", "Body": "退订", "MessageSid": "SMin2", "To": SENDER}
        r = await call_back(stack.gateway, PUBLIC, "/sms/twilio/inbound", form)
        assert r.status_code == 200 and "xml" in r.headers["content-type"]
        assert "已退订短信提醒" in r.text
        assert opt_outs(stack.db) == [("sms", "open")]
        # Twilio delivering the same text again: answered once, opted out once
        again = await call_back(stack.gateway, PUBLIC, "/sms/twilio/inbound", form)
        assert "<Message>" not in again.text
        assert opt_outs(stack.db) == [("sms", "open")]

    async def test_start_by_sms_lifts_the_opt_out(self, stack: Stack) -> None:
        stack.queue("+8613800138207")
        stop = {"From": "+8613800138207", "Body": "STOP", "MessageSid": "SMin4"}
        await call_back(stack.gateway, PUBLIC, "/sms/twilio/inbound", stop)
        start = {"From": "+8613800138207", "Body": "Start.", "MessageSid": "SMin5"}
        r = await call_back(stack.gateway, PUBLIC, "/sms/twilio/inbound", start)
        assert "重新收到短信还款提醒" in r.text
        assert opt_outs(stack.db) == [("sms", "withdrawn")]

    async def test_with_the_backend_down_a_stop_is_kept_and_acted_on_once_it_is_back(
        self, stack: Stack
    ) -> None:
        stack.queue("+8613800138208")
        relay = stack.app.state.relay
        backend = relay.backend

        class Down:
            async def inbound(self, *args: Any, **kwargs: Any) -> None:
                raise BackendUnavailable("connection refused")

        relay.backend = Down()
        form = {"From": "+8613800138208", "Body": "退订", "MessageSid": "SMin6"}
        r = await call_back(stack.gateway, PUBLIC, "/sms/twilio/inbound", form)
        assert r.status_code == 200 and "系统正在恢复" in r.text
        assert opt_outs(stack.db) == [] and relay.spool.pending() == 1
        relay.backend = backend
        assert await relay.spool.flush(backend) == 1  # the gateway's flush, the backend back
        assert opt_outs(stack.db) == [("sms", "open")]

    async def test_any_other_text_is_told_where_to_talk(self, stack: Stack) -> None:
        form = {"From": "+8613800138205", "Body": "how much do I owe?", "MessageSid": "SMin3"}
        r = await call_back(stack.gateway, PUBLIC, "/sms/twilio/inbound", form)
        assert "does not read replies" in r.text and f"{PUBLIC}/webchat" in r.text
        assert opt_outs(stack.db) == []
        chat = stack.db.scalar(select(Conversation).where(Conversation.channel == "sms"))
        assert chat is not None and chat.borrower_id is None  # nobody's number: nobody's chat


@pytest.fixture
async def sandbox(db: Session, tmp_path: Path) -> AsyncIterator[Stack]:
    async for s in _stack(db, tmp_path, SandboxSms(), sms_provider="sandbox"):
        yield s


class TestTheSandbox:
    async def test_its_page_shows_the_texts_and_a_reply_stop_opts_out(self, sandbox: Stack) -> None:
        sandbox.queue("+8613800138206", "点击 http://gateway/webchat?start=abc 查看")
        await sandbox.send_all()
        page = await sandbox.gateway.get("/sandbox/sms")
        assert page.status_code == 200
        assert '<a href="http://gateway/webchat?start=abc">' in page.text
        [text] = (await sandbox.gateway.get("/sandbox/sms/texts")).json()
        assert (text["phone"], text["direction"]) == ("+8613800138206", "out")
        r = await sandbox.gateway.post(
            "/sandbox/sms/reply", data={"phone": "+8613800138206", "text": "STOP"}
        )
        assert r.status_code == 303
        texts = (await sandbox.gateway.get("/sandbox/sms/texts")).json()
        assert [t["direction"] for t in texts] == ["out", "in", "out"]
        assert re.search("已退订|no more reminders", texts[0]["text"])
        assert opt_outs(sandbox.db) == [("sms", "open")]

    async def test_without_twilio_its_routes_are_not_there(self, sandbox: Stack) -> None:
        r = await sandbox.gateway.post("/sms/twilio/inbound", data={"From": "+1", "Body": "x"})
        assert r.status_code == 404
