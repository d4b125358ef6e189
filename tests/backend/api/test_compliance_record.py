"""Compliance end to end in the backend, on SQLite and PostgreSQL: the lender sets a loan's
jurisdiction through the API, a borrower's "周末别发" arrives from the chat through the API,
the reminders are planned and decided as the worker does, and the record lists every decision
with its rules: from the command line, on the Compliance page and as CSV, each read audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import ROOT
from backend.ledger.models import Loan
from backend.outbound.models import OutboundMessage
from backend.outreach import compliance_report, planner, service
from backend.outreach.models import Reminder, ReminderDecision
from backend.outreach.setup import OutreachConfig, load_outreach_config
from tests.backend import factories
from tests.backend.api.console_client import Console
from tests.backend.api.test_console_chat import take, waiting_chat


@pytest.fixture(scope="module")
def config() -> OutreachConfig:
    return load_outreach_config(ROOT / "config")


def a_loan(
    db: Session, ref: str, *, phone: str, zone: str, disbursed_on: date, user_id: str
) -> Loan:
    who = factories.borrower(db, ref=f"B-{ref}", phone_e164=phone, timezone=zone)
    loan = factories.loan(db, ref=ref, disbursed_on=disbursed_on, who=who)
    factories.conversation(db, who=who, user_id=user_id)
    db.commit()
    return loan


def run_day(db: Session, config: OutreachConfig, today: date, now: datetime) -> list:
    """The worker's morning: plan the business day, then decide what is due at `now`."""
    planner.plan(db, today=today, now=now, policy=config.policy)
    tally = service.dispatch(db, today=today, now=now, config=config)
    db.commit()
    return tally.outcomes


def decisions_of(db: Session, loan: Loan) -> list[ReminderDecision]:
    return list(
        db.scalars(
            select(ReminderDecision)
            .join(Reminder, ReminderDecision.reminder_id == Reminder.id)
            .where(Reminder.loan_id == loan.id)
            .order_by(ReminderDecision.id)
        )
    )


class TestSundayInJakarta:
    def test_held_on_sunday_sent_on_monday_morning(self, db: Session, config: OutreachConfig):
        # first installment on Wednesday 9 Dec 2026: three days before is Sunday 6 Dec
        loan = a_loan(
            db,
            "ID1",
            phone="+6281234567890",
            zone="Asia/Jakarta",
            disbursed_on=date(2026, 11, 9),
            user_id="62",
        )
        sunday_ten = datetime(2026, 12, 6, 3, tzinfo=UTC)  # 10:00 in Jakarta
        [held] = run_day(db, config, date(2026, 12, 6), sunday_ten)
        assert (held.action, held.reason) == ("defer", "rest_day")
        assert held.not_before == datetime(2026, 12, 7, 1, tzinfo=UTC)  # Monday 08:00 WIB
        [sent] = run_day(db, config, date(2026, 12, 7), held.not_before)
        assert sent.action == "send"
        reminder = db.scalars(select(Reminder).where(Reminder.loan_id == loan.id)).one()
        assert (reminder.profile, reminder.jurisdiction, reminder.jurisdiction_source) == (
            "ID",
            "ID",
            "phone",
        )
        assert reminder.held_by == "rest_day"
        first, second = decisions_of(db, loan)
        assert json.loads(first.checks)["day"] == "rest_day"
        assert json.loads(second.checks)["day"] == "ok"


class TestSpringFestivalInShanghai:
    def test_a_reminder_inside_the_pause_never_goes(self, db: Session, config: OutreachConfig):
        # first installment on 9 Feb 2027: three days before is Chinese New Year's day
        loan = a_loan(
            db,
            "CN1",
            phone="+8613800138001",
            zone="Asia/Shanghai",
            disbursed_on=date(2027, 1, 9),
            user_id="86",
        )
        noon = datetime(2027, 2, 6, 4, tzinfo=UTC)
        [held] = run_day(db, config, date(2027, 2, 6), noon)
        # valid one day, and the pause lasts to 13 Feb: nothing is left to wait for
        assert (held.action, held.reason) == ("drop", "expired")
        assert db.scalars(select(OutboundMessage)).all() == []
        [decision] = decisions_of(db, loan)
        assert json.loads(decision.checks)["day"] == "quiet_period"
        assert decision.profile == "CN"


class TestFilipinoTwentyDaysLate:
    def test_the_contract_says_ph_and_2130_in_manila_is_allowed(
        self, db: Session, client: TestClient, config: OutreachConfig
    ):
        # a borrower with a Chinese number, in Manila, under a Philippine contract
        loan = a_loan(
            db,
            "PH1",
            phone="+8613800138002",
            zone="Asia/Manila",
            disbursed_on=date(2026, 3, 15),
            user_id="63",
        )
        answer = client.put(f"/api/v1/loans/{loan.ref}/jurisdiction", json={"jurisdiction": "ph"})
        assert answer.status_code == 200 and answer.json()["jurisdiction"] == "PH"
        refused = client.put(f"/api/v1/loans/{loan.ref}/jurisdiction", json={"jurisdiction": "P1"})
        assert refused.status_code == 422
        # 15 days late on 30 Apr (first due 15 Apr): overdue_15 is planned then, valid 5 days
        planner.plan(
            db,
            today=date(2026, 4, 30),
            now=datetime(2026, 4, 29, 16, 5, tzinfo=UTC),
            policy=config.policy,
        )
        db.commit()
        # it was not decided then; 20 days late, 21:30 in Manila, it goes
        late = datetime(2026, 5, 5, 13, 30, tzinfo=UTC)
        [outcome] = service.dispatch(db, today=date(2026, 5, 5), now=late, config=config).outcomes
        db.commit()
        assert (outcome.step_id, outcome.action) == ("overdue_15", "send")
        [decision] = decisions_of(db, loan)
        assert (decision.profile, decision.jurisdiction, decision.jurisdiction_source) == (
            "PH",
            "PH",
            "contract",
        )
        checks = json.loads(decision.checks)
        assert checks["dpd"] == 20 and checks["window"] == "ok 06:00-22:00"
        audited = db.scalars(select(AuditEntry).where(AuditEntry.subject.like("loan PH1 %")))
        assert [e.subject for e in audited] == ["loan PH1 jurisdiction PH"]


class TestNoWeekends:
    def test_the_borrowers_wish_holds_a_saturday_reminder_to_monday(
        self, db: Session, client: TestClient, config: OutreachConfig
    ):
        # 7 days late on Saturday 5 Dec 2026 (first due Saturday 28 Nov)
        loan = a_loan(
            db,
            "CN2",
            phone="+8613800138003",
            zone="Asia/Shanghai",
            disbursed_on=date(2026, 10, 28),
            user_id="87",
        )
        said = client.put(
            "/api/v1/conversations/telegram/87/contact-preference", json={"said": "周末别发"}
        )
        assert said.status_code == 200
        assert said.json()["recorded"] is True
        assert said.json()["days"] == ["mon", "tue", "wed", "thu", "fri"]
        assert said.json()["described"] == {"zh": "工作日", "en": "weekdays"}
        unread = client.put(
            "/api/v1/conversations/telegram/87/contact-preference", json={"said": "你好"}
        )
        assert unread.json() == {
            "recorded": False,
            "withdrawn": False,
            "window_start": None,
            "window_end": None,
            "days": None,
            "described": None,
        }
        saturday_ten = datetime(2026, 12, 5, 2, tzinfo=UTC)
        [held] = run_day(db, config, date(2026, 12, 5), saturday_ten)
        assert (held.step_id, held.action, held.reason) == ("overdue_7", "defer", "preference")
        assert held.not_before == datetime(2026, 12, 7, 0, tzinfo=UTC)  # Monday 08:00
        [sent] = run_day(db, config, date(2026, 12, 7), held.not_before)
        assert sent.action == "send"
        [first, _] = decisions_of(db, loan)
        assert json.loads(first.checks)["preference"] == "outside"

    def test_a_second_wish_adds_to_the_first_and_the_collector_sees_both(
        self, db: Session, client: TestClient, open_console: Callable[..., Console]
    ):
        handoff = waiting_chat(db, "88")
        chat = "/api/v1/conversations/telegram/88/contact-preference"
        client.put(chat, json={"said": "周末别发"})
        both = client.put(chat, json={"said": "晚上7点以后再联系"}).json()
        assert both["days"] == ["mon", "tue", "wed", "thu", "fri"]
        assert (both["window_start"], both["window_end"]) == ("19:00:00", "23:59:00")
        assert both["described"] == {"zh": "工作日 19:00以后", "en": "weekdays after 19:00"}
        page = take(open_console("ann", "collector"), handoff).text
        assert "Contact only" in page and "weekdays after 19:00" in page
        assert "周末别发 / 晚上7点以后再联系" in page
        gone = client.put(chat, json={"said": "随时都可以联系我"}).json()
        assert (gone["recorded"], gone["withdrawn"]) == (True, True)
        page = take(open_console("bo", "supervisor"), handoff).text
        assert "Contact only" not in page

    def test_an_unlinked_chat_cannot_set_one(self, db: Session, client: TestClient):
        factories.conversation(db, user_id="99")
        db.commit()
        answer = client.put(
            "/api/v1/conversations/telegram/99/contact-preference", json={"said": "周末别发"}
        )
        assert answer.status_code in (403, 404, 409)


class TestTheRecord:
    @pytest.fixture
    def decided(self, db: Session, config: OutreachConfig) -> Loan:
        loan = a_loan(
            db,
            "ID2",
            phone="+6281234567891",
            zone="Asia/Jakarta",
            disbursed_on=date(2026, 11, 9),
            user_id="64",
        )
        run_day(db, config, date(2026, 12, 6), datetime(2026, 12, 6, 3, tzinfo=UTC))
        run_day(db, config, date(2026, 12, 7), datetime(2026, 12, 7, 1, tzinfo=UTC))
        return loan

    def test_every_decision_with_its_rules_per_borrower_and_in_total(
        self, db: Session, decided: Loan
    ):
        report = compliance_report.build(
            db, start=date(2026, 12, 6), end=date(2026, 12, 7), zone="Asia/Shanghai"
        )
        assert [(d.loan_ref, d.action, d.reason) for d in report.decisions] == [
            ("ID2", "defer", "rest_day"),
            ("ID2", "send", None),
        ]
        totals = report.per_borrower["B-ID2"]
        assert (totals.sent, totals.deferred, totals.dropped) == (1, 1, 0)
        assert report.total.reasons == {"rest_day": 1}
        rows = list(csv.DictReader(io.StringIO(compliance_report.to_csv(report))))
        assert [(r["action"], r["reason"], r["day"]) for r in rows] == [
            ("defer", "rest_day", "rest_day"),
            ("send", "", "ok"),
        ]
        assert rows[0]["profile"] == "ID" and rows[0]["jurisdiction_source"] == "phone"
        one = compliance_report.build(
            db,
            start=date(2026, 12, 6),
            end=date(2026, 12, 6),
            zone="Asia/Shanghai",
            borrower_ref="B-nobody",
        )
        assert one.decisions == []

    def test_the_compliance_page_and_its_csv_for_supervisors(
        self, db: Session, decided: Loan, open_console: Callable[..., Console]
    ):
        sue = open_console("sue", "supervisor")
        page = sue.get("/console/compliance", params={"from": "2026-12-06", "to": "2026-12-07"})
        assert page.status_code == 200
        assert 'data-action="defer" data-reason="rest_day"' in page.text
        assert 'data-borrower="B-ID2"' in page.text
        assert "not a contact day" in page.text
        download = sue.get(
            "/console/compliance.csv", params={"from": "2026-12-06", "to": "2026-12-07"}
        )
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert len(list(csv.DictReader(io.StringIO(download.text)))) == 2
        reads = db.scalars(
            select(AuditEntry.subject).where(
                AuditEntry.actor == "user:sue", AuditEntry.action == "read"
            )
        ).all()
        assert reads == [
            "compliance report 2026-12-06..2026-12-07",
            "compliance report 2026-12-06..2026-12-07 (CSV)",
        ]
        backwards = sue.get(
            "/console/compliance", params={"from": "2026-12-07", "to": "2026-12-06"}
        )
        assert backwards.status_code == 422

    @pytest.mark.parametrize("role", ["operations", "admin"])
    def test_operations_and_admins_see_it_too(
        self, role: str, open_console: Callable[..., Console]
    ):
        assert open_console(f"u{role}", role).get("/console/compliance").status_code == 200

    def test_a_collector_cannot(self, open_console: Callable[..., Console]):
        ann = open_console("ann", "collector")
        assert ann.get("/console/compliance").status_code == 403
        assert ann.get("/console/compliance.csv").status_code == 403


def test_the_window_reads_the_day_after_in_the_borrowers_zone():
    # the period is business days in the business time zone, not UTC days
    since, until = compliance_report.period_bounds(
        date(2026, 12, 6), date(2026, 12, 6), "Asia/Shanghai"
    )
    assert until - since == timedelta(days=1)
    assert since.astimezone(UTC) == datetime(2026, 12, 5, 16, tzinfo=UTC)
