"""First contact by SMS through the whole stack: a borrower who never opened the bot is 7 days
late; the reminders are planned and decided on the running backend's database as the worker
does; the gateway's sandbox SMS provider "sends" the text (its page shows it) and its receipt
comes back; the link in the text opens the web chat already linked to the borrower, who
promises to pay there (Rasa, the action server, the backend). Another borrower answers the text
with 退订 and is opted out of SMS."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from backend.config import ROOT
from backend.ledger.models import Loan
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder
from backend.outreach.setup import OutreachConfig, load_outreach_config
from tests.e2e.conftest import Stack, eventually
from tests.e2e.first_contact import a_late_borrower, remind, sessions
from tests.e2e.webchat_client import WebBorrower

pytestmark = pytest.mark.xdist_group("stack")

LINK = re.compile(r"/webchat\?start=([A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def config() -> OutreachConfig:
    return load_outreach_config(ROOT / "config")


def texts_to(stack: Stack, phone: str) -> list[dict[str, str]]:
    texts = httpx.get(f"{stack.gateway}/sandbox/sms/texts", timeout=10).json()
    return [t for t in texts if t["phone"] == phone]


def test_a_text_with_a_link_brings_a_borrower_who_never_chatted_to_a_promise(
    stack: Stack, config: OutreachConfig
) -> None:
    a_late_borrower(stack, "E2E-SMS", "+8613800138301")
    [sent] = remind(stack, config, "E2E-SMS")
    assert (sent.step_id, sent.action, sent.channel) == ("overdue_7", "send", "sms")
    [text] = eventually(lambda: texts_to(stack, "+8613800138301"), what="the text on the sandbox")
    assert "E2E-SMS" in text["text"] and "逾期7天" in text["text"]
    link = LINK.search(text["text"])
    assert link is not None and text["text"].startswith("李雷您好")

    # the provider's receipt reaches the outbox
    def receipt() -> str | None:
        with sessions(stack)() as session:  # a new one each time: never hold the database
            row = session.scalar(
                select(OutboundMessage)
                .join(Reminder, Reminder.outbound_id == OutboundMessage.id)
                .join(Loan, Reminder.loan_id == Loan.id)
                .where(Loan.ref == "E2E-SMS")
            )
            return row.receipt if row else None

    assert eventually(receipt, what="the delivery receipt") == "delivered"
    # the borrower taps the link: the page sends /start with its token
    chat = WebBorrower(stack.gateway)
    assert "核实成功" in chat.text(f"/start {link.group(1)}")
    confirm = chat.text("我下周五还五百")
    assert "500.00" in confirm and "2026-12-04" in confirm
    assert "已记录" in chat.text("是的")
    with stack.api() as api:
        promises = api.get("/loans/E2E-SMS/promises").json()
    assert [(p["amount"], p["promised_date"]) for p in promises] == [("500.00", "2026-12-04")]
    # the link was for one chat only
    other = WebBorrower(stack.gateway)
    assert "核实成功" not in other.text(f"/start {link.group(1)}")


def test_tuiding_by_text_opts_out_of_sms(stack: Stack, config: OutreachConfig) -> None:
    a_late_borrower(stack, "E2E-TD", "+8613800138302")
    [sent] = remind(stack, config, "E2E-TD")
    assert sent.channel == "sms"
    eventually(lambda: texts_to(stack, "+8613800138302"), what="the text on the sandbox")
    r = httpx.post(
        f"{stack.gateway}/sandbox/sms/reply",
        data={"phone": "+8613800138302", "text": "退订"},
        follow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303
    [answer, *_] = texts_to(stack, "+8613800138302")
    assert "已退订短信提醒" in answer["text"]
    with stack.api() as api:
        cases = api.get("/cases", params={"kind": "opt_out", "borrower_ref": "B-E2E-TD"}).json()
    assert [c["channel"] for c in cases] == ["sms"]
