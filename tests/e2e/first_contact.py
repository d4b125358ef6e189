"""What the first-contact journeys share: a borrower the lender knows who never opened the bot,
and the reminders worker's pass for their loan, on the running stack's database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.borrowers.identity import hash_id_number
from backend.borrowers.models import Borrower
from backend.db import make_engine
from backend.demo.products import ensure_products
from backend.ledger.models import Loan
from backend.ledger.service import originate_loan
from backend.outreach import planner, service
from backend.outreach.setup import OutreachConfig
from tests.e2e.conftest import Stack

SUNDAY = date(2026, 11, 29)  # the stack's business date


def sessions(stack: Stack) -> sessionmaker[Session]:
    return sessionmaker(make_engine(stack.processes.env["DATABASE_URL"]), expire_on_commit=False)


def a_late_borrower(
    stack: Stack,
    ref: str,
    phone: str,
    *,
    name: str = "李雷",
    language: str = "zh",
    timezone: str = "Asia/Shanghai",
) -> None:
    """A borrower the lender's systems know (number on record, ID ending 0000), who never
    opened the bot, with a loan whose first installment fell due on 22 Nov: 7 days late on the
    stack's business date."""
    with sessions(stack).begin() as session:
        who = Borrower(
            ref=f"B-{ref}",
            full_name=name,
            phone_e164=phone,
            id_number_hash=hash_id_number(f"{ref}-0000", "e2e"),
            id_last4="0000",
            date_of_birth=date(1990, 1, 1),
            language=language,
            timezone=timezone,
        )
        session.add(who)
        originate_loan(
            session,
            ref=ref,
            borrower=who,
            product=ensure_products(session)["CASH-12"],
            principal=600_000,
            disbursed_on=date(2026, 10, 22),
        )


def remind(
    stack: Stack, config: OutreachConfig, ref: str, today: date = SUNDAY
) -> list[service.Outcome]:
    """The worker's pass at 10:00 (UTC+8: Shanghai, Singapore) for this loan only."""
    now = datetime(today.year, today.month, today.day, 2, tzinfo=UTC)
    with sessions(stack).begin() as session:
        only = [session.scalar(select(Loan.id).where(Loan.ref == ref))]
        assert only[0] is not None
        planner.plan(session, today=today, now=now, policy=config.policy, only=only)
        return service.dispatch(session, today=today, now=now, config=config, only=only).outcomes
