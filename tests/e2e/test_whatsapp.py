"""First contact on WhatsApp through the whole stack: a borrower in Singapore who never opened
the bot is 7 days late; the reminders are planned and decided on the running backend's database
as the worker does; the gateway's sandbox WhatsApp (standing in for Meta) gets the approved
template with the loan's figures, and Meta's "delivered" comes back to the outbox. The phone
answers through the gateway's signed webhook; the assistant (Rasa, the action server, the
backend) asks whoever answers to verify, then takes their promise. Another answers STOP and is
opted out of WhatsApp: the next reminder goes by SMS."""

from __future__ import annotations

import time
from datetime import date
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.config import ROOT
from backend.ledger.models import Loan
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder
from backend.outreach.setup import OutreachConfig, load_outreach_config
from tests.e2e import first_contact
from tests.e2e.conftest import Stack, eventually
from tests.e2e.first_contact import remind, sessions

pytestmark = pytest.mark.xdist_group("stack")

# A borrower in Singapore (their profile lists WhatsApp) who speaks English.
a_late_borrower = partial(
    first_contact.a_late_borrower, name="Tan Wei Ming", language="en", timezone="Asia/Singapore"
)


@pytest.fixture(scope="module")
def config() -> OutreachConfig:
    return load_outreach_config(ROOT / "config")


def on_the_phone(stack: Stack, wa_id: str) -> list[dict[str, Any]]:
    """What the sandbox's phone at this number has, oldest first."""
    found = httpx.get(f"{stack.gateway}/sandbox/whatsapp/messages", timeout=10).json()
    return [m for m in reversed(found) if m["wa_id"] == wa_id]


def phone_says(stack: Stack, wa_id: str, text: str) -> str:
    """Write from the phone; the assistant's answers to it, once they stop coming."""
    before = len(on_the_phone(stack, wa_id))
    r = httpx.post(
        f"{stack.gateway}/sandbox/whatsapp/reply",
        data={"wa_id": wa_id, "text": text},
        follow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303

    def answers() -> list[dict[str, Any]]:
        return [m for m in on_the_phone(stack, wa_id)[before:] if m["direction"] == "out"]

    eventually(answers, seconds=60, what=f"an answer to {text!r}")
    count, quiet_since = len(answers()), time.monotonic()
    while time.monotonic() - quiet_since < 1.5:  # the turn's other replies
        time.sleep(0.2)
        if len(answers()) != count:
            count, quiet_since = len(answers()), time.monotonic()
    return "\n".join(m["text"] for m in answers())


def test_a_template_brings_a_borrower_who_never_chatted_to_a_verified_promise(
    stack: Stack, config: OutreachConfig
) -> None:
    a_late_borrower(stack, "E2E-WA", "+6590001234")
    [sent] = remind(stack, config, "E2E-WA")
    assert (sent.step_id, sent.action, sent.channel) == ("overdue_7", "send", "whatsapp")
    [template] = eventually(lambda: on_the_phone(stack, "6590001234"), what="the template")
    assert template["kind"] == "template"
    assert template["template"]["name"] == "payment_overdue"
    assert template["template"]["language"] == "en"
    assert template["template"]["params"][:3] == ["Tan Wei Ming", "E2E-WA", "7"]

    def receipt() -> str | None:  # Meta's "delivered", through the gateway's webhook
        with sessions(stack)() as session:
            row = session.scalar(
                select(OutboundMessage)
                .join(Reminder, Reminder.outbound_id == OutboundMessage.id)
                .join(Loan, Reminder.loan_id == Loan.id)
                .where(Loan.ref == "E2E-WA")
            )
            return row.receipt if row else None

    assert eventually(receipt, what="the delivery receipt") == "delivered"

    # whoever answers on the number is asked who they are before anything is said
    asked = phone_says(stack, "6590001234", "how much do i owe")
    assert "mobile number" in asked and "E2E-WA" not in asked
    assert "ID number" in phone_says(stack, "6590001234", "+65 9000 1234")
    verified = phone_says(stack, "6590001234", "0000")
    assert "verified" in verified and "Total owed" in verified
    confirm = phone_says(stack, "6590001234", "I can pay 500 next friday")
    assert "500.00" in confirm and "2026-12-04" in confirm
    assert "Got it" in phone_says(stack, "6590001234", "yes")
    with stack.api() as api:
        promises = api.get("/loans/E2E-WA/promises").json()
    assert [(p["amount"], p["promised_date"]) for p in promises] == [("500.00", "2026-12-04")]


def test_stop_on_whatsapp_sends_the_next_reminder_by_sms(
    stack: Stack, config: OutreachConfig
) -> None:
    a_late_borrower(stack, "E2E-WA-STOP", "+6590001235")
    [sent] = remind(stack, config, "E2E-WA-STOP")
    assert sent.channel == "whatsapp"
    eventually(lambda: on_the_phone(stack, "6590001235"), what="the template")
    phone_says(stack, "6590001235", "STOP")
    with stack.api() as api:
        cases = api.get("/cases", params={"kind": "opt_out"}).json()
    assert [c["channel"] for c in cases if c["user_id"] == "6590001235"] == ["whatsapp"]
    # the next reminder (overdue_15, a week later) goes by SMS instead
    [then] = remind(stack, config, "E2E-WA-STOP", today=date(2026, 12, 7))
    assert (then.step_id, then.channel) == ("overdue_15", "sms")
