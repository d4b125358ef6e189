"""The Operations page: which policy version is running, and the preview of what that policy
does with one loan on a date (reminders, plan offers, promise limits), audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import ROOT
from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.money import format_major, to_major
from backend.plans import service as plans
from backend.plans.policy import PlanPolicy
from backend.policy_files import content_hash, load_policy
from tests.backend import factories
from tests.backend.api.console_client import Console

THIRTY_DAYS_LATE = date(2026, 3, 17)  # the first installment fell due on 15 Feb


@pytest.fixture
def ops(open_console: Callable[..., Console]) -> Console:
    return open_console("olga", "operations")


def money(minor: int, currency: str = "CNY") -> str:
    """As the console's money filter shows it."""
    return f"{to_major(minor, currency):,} {currency}"


class TestRunningVersion:
    def test_each_policy_file_shows_the_hash_it_was_loaded_with(self, ops: Console):
        page = ops.get("/console/operations")
        assert page.status_code == 200
        for name in ("plans.yml", "promises.yml", "outreach.yml", "compliance.yml"):
            sha = content_hash((ROOT / "config" / name).read_bytes())
            assert f"Running: sha256 {sha}, loaded " in page.text
        assert "restart to apply" not in page.text  # nothing changed since start-up
        assert "version-controlled" in page.text


class TestLoanPreview:
    def test_shows_the_reminders_offers_and_promise_limits_of_a_loan(
        self, ops: Console, db: Session, loan: Loan
    ):
        page = ops.get(
            "/console/operations",
            params={"loan": loan.ref, "as_of": THIRTY_DAYS_LATE.isoformat(), "language": "en"},
        )
        assert page.status_code == 200
        text = page.text
        st = ledger.loan_statement(db, loan, THIRTY_DAYS_LATE)
        assert st.dpd == 30
        # the overdue_30 reminder, in English, with the loan's figures, buttons and disclosure
        assert 'data-step="overdue_30" data-fires="yes"' in text
        assert 'data-step="overdue_7" data-fires="no"' in text
        assert "The loan is 30 days past due; this step is for 7." in text
        assert format_major(st.overdue_amount, "CNY") in text
        assert "Reply STOP to stop these reminders." in text
        # the borrower never opened the bot: it would be a text, with the link hidden
        assert 'data-channel="sms"' in text and "webchat?start=…" in text
        # the plan offers the policy gives it that day, with their totals
        policy = load_policy(ROOT / "config" / "plans.yml", PlanPolicy)
        offers, _ = plans.offers_for(db, loan, THIRTY_DAYS_LATE, policy)
        assert offers
        for offer in offers:
            assert f'data-offer="{offer.id}"' in text
            assert money(offer.total) in text
        # the promise limits: up to what settles the loan, by the policy's last day
        assert money(st.payoff_amount) in text
        assert "2026-03-31" in text  # 14 days ahead (config/promises.yml)

    def test_the_offers_are_in_the_borrowers_order_and_say_why_the_first_is_first(
        self, ops: Console, db: Session
    ):
        # Four installments paid on their dates, then nothing: 45 days late on 1 Apr 2026.
        paying = factories.loan(db, ref="L2", disbursed_on=date(2025, 9, 15))
        for k, row in enumerate(paying.installments[:4]):
            amount = row.principal_minor + row.interest_minor
            factories.payment(db, paying, amount, row.due_date, f"paid-{k}")
        db.commit()
        page = ops.get(
            "/console/operations",
            params={"loan": "L2", "as_of": "2026-04-01", "language": "en"},
        ).text
        policy = load_policy(ROOT / "config" / "plans.yml", PlanPolicy)
        offers, _ = plans.offers_for(db, paying, date(2026, 4, 1), policy)
        shown = [page.index(f'data-offer="{o.id}"') for o in offers]
        assert shown == sorted(shown)
        assert offers[0].sized and "fitted to what the borrower pays" in page
        assert (
            f"First: its payments (at most {money(offers[0].largest_payment)}) fit the "
            "borrower&#39;s median monthly payment of"
        ) in page

    def test_the_preview_is_in_the_language_asked_for(self, ops: Console, loan: Loan):
        day = THIRTY_DAYS_LATE.isoformat()
        zh = ops.get(
            "/console/operations", params={"loan": loan.ref, "as_of": day, "language": "zh"}
        )
        assert "立即还款" in zh.text and "回复“退订”即可不再接收还款提醒。" in zh.text
        own = ops.get("/console/operations", params={"loan": loan.ref, "as_of": day})
        assert "立即还款" in own.text  # the borrower's own language: Chinese

    def test_an_unknown_loan_gets_a_message_not_an_error(self, ops: Console, db: Session):
        page = ops.get("/console/operations", params={"loan": "NO-SUCH"})
        assert page.status_code == 200
        assert "There is no loan NO-SUCH." in page.text
        assert (
            db.scalars(select(AuditEntry).where(AuditEntry.subject.contains("NO-SUCH"))).all() == []
        )

    def test_a_date_that_is_not_one_is_said_so(self, ops: Console, loan: Loan):
        page = ops.get("/console/operations", params={"loan": loan.ref, "as_of": "31/03"})
        assert page.status_code == 200 and "is not a date" in page.text

    def test_a_date_years_away_is_refused_not_an_error(self, ops: Console, loan: Loan):
        page = ops.get("/console/operations", params={"loan": loan.ref, "as_of": "9999-12-31"})
        assert page.status_code == 200 and "more than 5 years from today" in page.text

    def test_viewing_a_loans_preview_is_audited(self, ops: Console, db: Session, loan: Loan):
        ops.get("/console/operations", params={"loan": loan.ref, "as_of": "2026-03-17"})
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.subject.contains("policy preview"))
        ).one()
        assert (entry.actor, entry.action, entry.borrower_id) == (
            "user:olga",
            "read",
            loan.borrower_id,
        )
        assert entry.subject == f"loan {loan.ref} policy preview as of 2026-03-17"

    def test_collectors_cannot_see_it(
        self, open_console: Callable[..., Console], db: Session, loan: Loan
    ):
        collector = open_console("ann", "collector")
        refused = collector.get("/console/operations", params={"loan": loan.ref})
        assert refused.status_code == 403
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all() == []
