"""Compliance through the whole stack: borrowers link Telegram with a one-time token, the lender
sets a contract's jurisdiction with the command line and the API, a borrower tells the
assistant "周末别发" in the chat (Rasa, the action server, the backend), reminders are planned
and decided on the running backend's database as the worker does, the ones that go reach the
(fake) Telegram Bot API through the real gateway, and `compliance report` lists each decision.

- a reminder due on a Sunday in Jakarta waits for Monday 08:00 (Indonesia: Monday to Saturday);
- one due on Chinese New Year in Shanghai never goes (the lender's Spring Festival pause);
- a Filipino contract 20 days past due gets its reminder at 21:30 Manila time (06:00-22:00);
- "周末别发" holds a Saturday reminder to Monday."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.borrowers.identity import hash_id_number
from backend.borrowers.models import Borrower
from backend.config import ROOT
from backend.db import make_engine
from backend.demo.products import ensure_products
from backend.ledger.models import Loan
from backend.ledger.service import originate_loan
from backend.outreach import planner, service
from backend.outreach.models import Reminder
from backend.outreach.setup import OutreachConfig, load_outreach_config
from tests.e2e.conftest import BOT_TOKEN, Stack, eventually
from tests.e2e.telegram_user import TelegramUser

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")


def a_borrower(
    stack: Stack, ref: str, *, phone: str, zone: str, disbursed_on: date, user: int
) -> TelegramUser:
    """A new borrower with one loan (the lender's systems would have sent them), linked to a
    Telegram chat by a one-time token as a borrower would link theirs."""
    with sessions(stack).begin() as session:
        who = Borrower(
            ref=f"B-{ref}",
            full_name="Test Borrower",
            phone_e164=phone,
            id_number_hash=hash_id_number(f"{ref}-0000", "e2e"),
            id_last4="0000",
            date_of_birth=date(1990, 1, 1),
            language="zh",
            timezone=zone,
        )
        session.add(who)
        product = ensure_products(session)["CASH-12"]
        originate_loan(
            session,
            ref=ref,
            borrower=who,
            product=product,
            principal=600_000,
            disbursed_on=disbursed_on,
        )
    telegram = TelegramUser(stack.telegram_api, BOT_TOKEN, user, language="zh", name=ref)
    telegram.replies_to(lambda: telegram.command(f"/start {stack.link_token(f'B-{ref}')}"))
    return telegram


def sessions(stack: Stack) -> sessionmaker[Session]:
    return sessionmaker(make_engine(stack.processes.env["DATABASE_URL"]), expire_on_commit=False)


def loan_id(session: Session, ref: str) -> int:
    found = session.scalar(select(Loan.id).where(Loan.ref == ref))
    assert found is not None
    return found


def decide(
    stack: Stack, config: OutreachConfig, today: date, now: datetime, loan_ref: str
) -> list[service.Outcome]:
    """The worker's pass at `now` for this loan only (the other tests' borrowers hear nothing
    of these dates): plan the business day, decide what is due."""
    with sessions(stack).begin() as session:
        only = [loan_id(session, loan_ref)]
        planner.plan(session, today=today, now=now, policy=config.policy, only=only)
        return service.dispatch(session, today=today, now=now, config=config, only=only).outcomes


def delivered(user: TelegramUser, loan_ref: str) -> list[str]:
    return [m["text"] for m in user.bot_messages() if loan_ref in m.get("text", "")]


def cli(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT, env=stack.processes.env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def config() -> OutreachConfig:
    return load_outreach_config(ROOT / "config")


def test_a_sunday_in_jakarta_waits_for_monday(stack: Stack, config: OutreachConfig) -> None:
    # first installment on Wednesday 9 Dec 2026: three days before is Sunday 6 Dec
    user = a_borrower(
        stack, "E2E-ID", phone="+8613800138100", zone="Asia/Jakarta",
        disbursed_on=date(2026, 11, 9), user=5201,
    )  # fmt: skip
    # a Chinese number, an Indonesian contract: the contract decides
    assert "jurisdiction ID" in cli(stack, "loans", "jurisdiction", "E2E-ID", "id")
    sunday = datetime(2026, 12, 6, 3, tzinfo=UTC)  # 10:00 in Jakarta
    [held] = decide(stack, config, date(2026, 12, 6), sunday, "E2E-ID")
    assert (held.action, held.reason) == ("defer", "rest_day")
    monday = datetime(2026, 12, 7, 1, tzinfo=UTC)  # 08:00 in Jakarta
    assert held.not_before == monday
    [sent] = decide(stack, config, date(2026, 12, 7), monday, "E2E-ID")
    assert sent.action == "send"
    eventually(lambda: delivered(user, "E2E-ID"), what="Monday's reminder on Telegram")
    with sessions(stack)() as session:
        reminder = session.scalars(
            select(Reminder).join(Loan, Reminder.loan_id == Loan.id).where(Loan.ref == "E2E-ID")
        ).one()
        assert (reminder.profile, reminder.jurisdiction_source, reminder.held_by) == (
            "ID", "contract", "rest_day",
        )  # fmt: skip
    report = cli(stack, "compliance", "report", "--from", "2026-12-06", "--to", "2026-12-07",
                 "--borrower", "B-E2E-ID")  # fmt: skip
    assert "B-E2E-ID" in report and "rest_day 1" in report


def test_spring_festival_in_shanghai_sends_nothing(stack: Stack, config: OutreachConfig) -> None:
    user = a_borrower(
        stack, "E2E-CN", phone="+8613800138101", zone="Asia/Shanghai",
        disbursed_on=date(2027, 1, 9), user=5202,
    )  # fmt: skip
    new_year = datetime(2027, 2, 6, 4, tzinfo=UTC)  # noon in Shanghai, 6 Feb 2027
    [dropped] = decide(stack, config, date(2027, 2, 6), new_year, "E2E-CN")
    assert (dropped.action, dropped.reason) == ("drop", "expired")
    assert delivered(user, "E2E-CN") == []


def test_a_filipino_contract_20_days_late_at_2130(stack: Stack, config: OutreachConfig) -> None:
    user = a_borrower(
        stack, "E2E-PH", phone="+8613800138102", zone="Asia/Manila",
        disbursed_on=date(2026, 3, 15), user=5203,
    )  # fmt: skip
    with stack.api() as api:
        set_ = api.put("/loans/E2E-PH/jurisdiction", json={"jurisdiction": "PH"})
    assert set_.status_code == 200, set_.text
    # 15 days late on 30 Apr: overdue_15 is planned, valid five days; decided 20 days late
    with sessions(stack).begin() as session:
        planner.plan(
            session, today=date(2026, 4, 30), now=datetime(2026, 4, 29, 16, 5, tzinfo=UTC),
            policy=config.policy, only=[loan_id(session, "E2E-PH")],
        )  # fmt: skip
    at_2130 = datetime(2026, 5, 5, 13, 30, tzinfo=UTC)
    [sent] = decide(stack, config, date(2026, 5, 5), at_2130, "E2E-PH")
    assert (sent.step_id, sent.action) == ("overdue_15", "send")
    eventually(lambda: delivered(user, "E2E-PH"), what="the reminder at 21:30 on Telegram")


def test_a_borrowers_no_weekends_holds_a_saturday_reminder(
    stack: Stack, config: OutreachConfig
) -> None:
    # 7 days late on Saturday 5 Dec 2026: overdue_7, valid three days
    user = a_borrower(
        stack, "E2E-WK", phone="+8613800138103", zone="Asia/Shanghai",
        disbursed_on=date(2026, 10, 28), user=5204,
    )  # fmt: skip
    answer = user.say("周末别发")
    assert "工作日" in answer, answer
    saturday = datetime(2026, 12, 5, 2, tzinfo=UTC)  # 10:00 in Shanghai
    [held] = decide(stack, config, date(2026, 12, 5), saturday, "E2E-WK")
    assert (held.step_id, held.action, held.reason) == ("overdue_7", "defer", "preference")
    monday = datetime(2026, 12, 7, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert held.not_before == monday
    assert delivered(user, "E2E-WK") == []
    [sent] = decide(stack, config, date(2026, 12, 7), monday, "E2E-WK")
    assert sent.action == "send"
    eventually(lambda: delivered(user, "E2E-WK"), what="Monday's reminder on Telegram")
