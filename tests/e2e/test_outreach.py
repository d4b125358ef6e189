"""A reminder through the whole stack: planned and decided on the running backend's database,
queued in the outbox, delivered by the real gateway to the (fake) Telegram Bot API with its
buttons; the borrower answers "STOP" and the next reminder is dropped for the opt-out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.cases.models import Case
from backend.config import ROOT
from backend.conversations.models import Conversation
from backend.db import make_engine
from backend.ledger.repository import loan_by_ref
from backend.outreach import planner, service
from backend.outreach.policy import OutreachPolicy
from backend.outreach.setup import load_outreach_config
from tests.e2e.conftest import BOT_TOKEN, TODAY, Stack, eventually
from tests.e2e.telegram_user import TelegramUser

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")

SINGAPORE = "+08:00"  # DEMO-09 lives in Singapore


def first_day_with_a_reminder(session: Session, loan_id: int, policy: OutreachPolicy) -> date:
    day = date.fromisoformat(TODAY)
    for _ in range(62):
        if planner.due_reminders(session, loan_ids=[loan_id], today=day, policy=policy):
            return day
        day += timedelta(days=1)
    raise AssertionError("no reminder in two months")


def test_a_reminder_reaches_the_borrower_on_telegram_and_stop_ends_them_there(stack: Stack) -> None:
    user = TelegramUser(stack.telegram_api, BOT_TOKEN, 5101, language="en", name="Grace")
    user.command(f"/start {stack.link_token('DEMO-09')}")
    eventually(user.bot_messages, what="the bot's welcome")
    config = load_outreach_config(ROOT / "config")
    sessions = sessionmaker(make_engine(stack.processes.env["DATABASE_URL"]))

    with sessions.begin() as session:
        loan = loan_by_ref(session, "L-DEMO-09")  # on a repayment plan
        assert loan is not None
        day = first_day_with_a_reminder(session, loan.id, config.policy)
        ten = datetime.fromisoformat(f"{day}T10:00:00{SINGAPORE}")
        planner.plan(session, today=day, now=ten, policy=config.policy)
        outcomes = service.dispatch(session, today=day, now=ten, config=config).outcomes
    # the generated demo history's borrowers get that day's reminders too
    [sent] = [o for o in outcomes if o.loan_ref == "L-DEMO-09"]
    assert (sent.action, sent.channel) == ("send", "telegram")

    def delivered() -> dict[str, object] | None:
        return next((m for m in user.bot_messages() if "L-DEMO-09" in m["text"]), None)

    message = eventually(delivered, what="the reminder on Telegram")
    assert isinstance(message, dict)
    assert "Reply STOP" in str(message["text"])
    buttons = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert "Pay now" in buttons

    user.send("STOP")
    eventually(lambda: _opted_out(sessions), what="the opt-out recorded")
    later = day + timedelta(days=1)
    noon = datetime.fromisoformat(f"{later}T12:00:00{SINGAPORE}")
    with sessions.begin() as session:
        planner.plan(session, today=later, now=noon, policy=config.policy)
        outcomes = service.dispatch(session, today=later, now=noon, config=config).outcomes
    outcomes = [o for o in outcomes if o.loan_ref == "L-DEMO-09"]
    # "STOP" in the chat ends messages there; the reminder goes on WhatsApp instead (Grace is
    # in Singapore, whose profile lists it; an opt-out is per channel: STOP on WhatsApp ends
    # those and the next goes by SMS, tests/e2e/test_whatsapp.py)
    assert outcomes and {(o.action, o.channel) for o in outcomes} == {("send", "whatsapp")}
    assert not [m for m in user.bot_messages() if "L-DEMO-09" in m["text"]][1:]


def _opted_out(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        found = session.scalar(
            select(Case.id)
            .join(Conversation, Case.conversation_id == Conversation.id)
            .where(Case.kind == "opt_out", Conversation.channel_user_id == "5101")
        )
    return found is not None
