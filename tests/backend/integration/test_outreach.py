"""Reminders end to end in the backend: planned from the loans' positions, decided by the
compliance rules at a given moment, sent through the outbox, never twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.cases.handoffs import request_handoff
from backend.cases.service import file_case
from backend.config import ROOT
from backend.conversations.service import find
from backend.ledger.models import Loan
from backend.outbound.models import OutboundMessage
from backend.outreach import planner, service
from backend.outreach.models import Reminder
from backend.outreach.policy import ChannelRules
from backend.outreach.results import variant_results
from backend.outreach.setup import OutreachConfig, load_outreach_config
from tests.backend import factories

TODAY = date(2026, 4, 12)  # the first installment of a loan made on 2026-03-15 is due in 3 days


def at(local: str, day: date = TODAY) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    hour, minute = map(int, local.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture(scope="module")
def config() -> OutreachConfig:
    return load_outreach_config(ROOT / "config")


def a_loan(db: Session, ref: str = "L1", *, chat: bool = True, user_id: str = "42") -> Loan:
    """A loan due in 3 days whose borrower started the bot (or not)."""
    loan = factories.loan(db, ref=ref, disbursed_on=date(2026, 3, 15))
    if chat:
        factories.conversation(db, who=loan.borrower, user_id=user_id)
    db.flush()
    return loan


def chats_only(config: OutreachConfig) -> OutreachConfig:
    """The shipped schedule without SMS: reminders only to who started the bot."""
    channels = ChannelRules(order=("recent_chat", "linked_chat"))
    return replace(config, policy=config.policy.model_copy(update={"channels": channels}))


def plan(db: Session, config: OutreachConfig, today: date = TODAY) -> planner.PlanTally:
    return planner.plan(db, today=today, now=at("00:05", today), policy=config.policy)


def send(
    db: Session, config: OutreachConfig, now: datetime, today: date = TODAY
) -> service.DispatchTally:
    return service.dispatch(db, today=today, now=now, config=config)


class TestPlanning:
    def test_a_borrower_who_started_the_bot_gets_the_three_day_reminder(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        tally = plan(db, config)
        assert (tally.candidates, tally.planned) == (1, 1)
        [reminder] = db.scalars(select(Reminder)).all()
        assert (reminder.loan_id, reminder.step_id, reminder.occasion) == (
            loan.id,
            "before_due_3",
            TODAY,
        )
        assert reminder.due_date == date(2026, 4, 15)

    def test_who_never_started_the_bot_is_planned_for_by_sms(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db, chat=False)
        assert plan(db, config).planned == 1

    def test_without_sms_nobody_is_planned_for_who_never_started_the_bot(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db, chat=False)
        assert plan(db, chats_only(config)).planned == 0

    def test_planning_again_adds_nothing(self, db: Session, config: OutreachConfig):
        a_loan(db)
        assert plan(db, config).planned == 1
        again = plan(db, config)
        assert (again.due, again.planned) == (1, 0)
        assert len(db.scalars(select(Reminder)).all()) == 1


class TestSending:
    def test_inside_the_window_it_goes_through_the_outbox_with_the_loans_figures(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        plan(db, config)
        tally = send(db, config, at("10:00"))
        assert tally.count("send") == 1
        [message] = db.scalars(select(OutboundMessage)).all()
        assert "L1" in message.text and "2026-04-15" in message.text
        assert message.sender == "system" and message.author == "outreach:before_due_3"
        assert message.buttons
        [reminder] = db.scalars(select(Reminder)).all()
        assert (reminder.status, reminder.outbound_id) == ("sent", message.id)

    def test_sent_once_however_often_the_dispatcher_runs(self, db: Session, config: OutreachConfig):
        a_loan(db)
        plan(db, config)
        send(db, config, at("10:00"))
        plan(db, config)  # a restart plans again
        assert send(db, config, at("10:01")).outcomes == []
        assert len(db.scalars(select(OutboundMessage)).all()) == 1

    def test_at_night_it_waits_for_eight_in_the_borrowers_morning(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        plan(db, config)
        [outcome] = send(db, config, at("23:00")).outcomes
        assert (outcome.action, outcome.reason) == ("defer", "outside_window")
        assert outcome.not_before == at("08:00", TODAY + timedelta(days=1))
        assert db.scalars(select(OutboundMessage)).all() == []
        assert send(db, config, at("07:59", TODAY + timedelta(days=1))).outcomes == []
        [sent] = send(db, config, at("08:00", TODAY + timedelta(days=1))).outcomes
        reminder = db.scalars(select(Reminder)).one()
        # sent in the morning; the rule that held it back the night before stays on record
        assert (sent.action, reminder.status, reminder.reason) == ("send", "sent", None)
        assert reminder.held_by == "outside_window"

    def test_an_opt_out_drops_it_with_the_reason(self, db: Session, config: OutreachConfig):
        a_loan(db)
        conversation = find(db, "telegram", "42")
        assert conversation is not None
        file_case(db, conversation=conversation, kind="opt_out", loan=None, details="STOP")
        config = chats_only(config)  # else it goes by SMS (test_outreach_channels.py)
        plan(db, config)
        [outcome] = send(db, config, at("10:00")).outcomes
        assert (outcome.action, outcome.reason) == ("drop", "opt_out")
        assert db.scalars(select(Reminder.held_by)).one() == "opt_out"
        assert db.scalars(select(OutboundMessage)).all() == []

    def test_a_live_handoff_holds_it_back(self, db: Session, config: OutreachConfig):
        a_loan(db)
        conversation = find(db, "telegram", "42")
        assert conversation is not None
        request_handoff(db, conversation=conversation, reason="borrower_request")
        plan(db, config)
        [outcome] = send(db, config, at("10:00")).outcomes
        assert (outcome.action, outcome.reason) == ("defer", "live_handoff")

    def test_paid_since_it_was_planned_it_is_not_sent(self, db: Session, config: OutreachConfig):
        loan = a_loan(db)
        plan(db, config)
        factories.payment(db, loan, 200_000, TODAY, "early")
        [outcome] = send(db, config, at("10:00")).outcomes
        assert (outcome.action, outcome.reason) == ("drop", "no_longer_due")

    def test_the_daily_cap_defers_the_third_message_to_the_next_morning(
        self, db: Session, config: OutreachConfig
    ):
        borrower = factories.borrower(db, ref="B-many")
        factories.conversation(db, who=borrower)
        for n in range(3):
            factories.loan(db, ref=f"L{n}", who=borrower, disbursed_on=date(2026, 3, 15))
        plan(db, config)
        outcomes = send(db, config, at("10:00")).outcomes
        assert [o.action for o in outcomes] == ["send", "send", "defer"]
        assert outcomes[2].reason == "daily_cap"
        assert outcomes[2].not_before == at("08:00", TODAY + timedelta(days=1))


class TestResults:
    def test_replies_and_payments_count_for_the_variant_that_was_sent(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        plan(db, config)
        send(db, config, at("10:00"))
        factories.payment(db, loan, 100_000, TODAY + timedelta(days=1), "after-reminder")
        [result] = variant_results(db, days=3)
        assert (result.step_id, result.sent, result.paid, result.replied) == (
            "before_due_3",
            1,
            1,
            0,
        )


def test_a_template_naming_an_unknown_variable_stops_the_start(tmp_path: Path):
    from backend.policy_files import PolicyFileError

    for name in ("outreach.yml", "compliance.yml", "outreach_templates.yml"):
        (tmp_path / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"))
    templates = tmp_path / "outreach_templates.yml"
    templates.write_text(templates.read_text().replace("{loan_ref}", "{loan_number}", 1))
    with pytest.raises(PolicyFileError, match="loan_number"):
        load_outreach_config(tmp_path)
