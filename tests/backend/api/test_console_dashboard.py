"""Operations' dashboard page: each section with its definition, the chart data as JSON the
page never executes, the filter applied and shown, who may open it, and an empty database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.console import dashboard_routes
from backend.conversations.messages import NewMessage, log_messages
from tests.backend import factories
from tests.backend.api.console_client import Console

OpenConsole = Callable[..., Console]
DATA = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)
SECTIONS = ("conversations", "promises", "delinquency", "reminders", "experiments", "nlu")


def chart_data(html: str) -> dict[str, Any]:
    found = DATA.search(html)
    assert found, "no dashboard-data element"
    return dict(json.loads(found.group(1)))


def chat(db: Session, *, channel: str, user_id: str, handed_off: bool) -> None:
    """A borrower who wrote on 31 March 2026 (the day before the tests' business date)."""
    who = factories.borrower(db, ref=f"B-{user_id}")
    conversation = factories.conversation(db, who=who, channel=channel, user_id=user_id)
    at = datetime(2026, 3, 31, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    log_messages(
        db,
        conversation=conversation,
        messages=[NewMessage(sender="borrower", text="how much do I owe", sent_at=at)],
    )
    if handed_off:
        factories.handoff(db, conversation=conversation, created_at=at)
    db.commit()


class TestDashboardPage:
    def test_operations_sees_every_section_with_its_definition_and_the_chart_data(
        self, open_console: OpenConsole, db: Session
    ):
        chat(db, channel="telegram", user_id="1", handed_off=True)
        chat(db, channel="webchat", user_id="2", handed_off=False)
        page = open_console("olga", "operations").get("/console/dashboard?period=7")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        html = page.text
        for section in SECTIONS:
            assert f'id="{section}"' in html
        assert "Conversations with at least one borrower message on the day" in html
        assert "those in which a promise to pay was taken that day" in html
        assert "in a worse bucket at the end than at the start" in html
        assert "that a compliance rule deferred (even if they went later) or dropped" in html
        assert "when that interval includes 0 there is no clear difference" in html
        assert "below the fallback threshold" in html
        assert 'aria-current="page">Dashboard</a>' in html

        data = chart_data(html)
        assert set(data) >= {
            "days",
            "conversations",
            "promises",
            "amounts",
            "delinquency",
            "reminders",
            "experiments",
            "nlu",
            "labels",
        }
        assert data["days"] == [f"2026-03-{d}" for d in range(26, 32)] + ["2026-04-01"]
        conversations = data["conversations"]
        assert conversations["handed_off"][5] == 0.5  # 31 March: one of two handed off
        assert conversations["contained"][5] == 0.5
        assert conversations["contained"][0] is None  # no conversation, no rate
        assert set(conversations) == {"contained", "handed_off", "wait_median", "wait_p90"}
        assert len(data["nlu"]["fallback_rate"]) == 7
        assert [g for g in data["delinquency"]["groups"]] == ["used the assistant", "did not"]

    def test_the_filter_is_applied_and_shown_selected(self, open_console: OpenConsole, db: Session):
        chat(db, channel="telegram", user_id="1", handed_off=True)
        ops = open_console("olga", "operations")
        page = ops.get("/console/dashboard?period=90&channel=webchat&language=zh")
        assert page.status_code == 200
        assert '<option value="90" selected>' in page.text
        assert '<option value="webchat" selected>' in page.text
        assert '<option value="zh" selected>' in page.text
        assert "2026-01-02 to 2026-04-01" in page.text
        data = chart_data(page.text)
        assert len(data["days"]) == 90
        assert set(data["conversations"]["handed_off"]) == {None}  # the Telegram chat is out

        telegram = chart_data(ops.get("/console/dashboard?period=7&channel=telegram").text)
        assert telegram["conversations"]["handed_off"][5] == 1.0

    def test_a_tampered_filter_is_a_bad_form_page(self, open_console: OpenConsole):
        page = open_console("olga", "operations").get("/console/dashboard?period=365")
        assert page.status_code == 422
        assert "Some of what the form sent is not valid" in page.text

    def test_admin_opens_it_and_a_collector_or_supervisor_gets_403(self, open_console: OpenConsole):
        assert open_console("ada", "admin").get("/console/dashboard").status_code == 200
        for username, role in (("carl", "collector"), ("sue", "supervisor")):
            console = open_console(username, role)
            page = console.get("/console/dashboard")
            assert page.status_code == 403, role
            assert "dashboard-data" not in page.text
            assert "/console/dashboard" not in console.get("/console/").text

    @pytest.mark.parametrize("period", ["7", "30", "90"])
    def test_an_empty_database_renders_without_a_rate(self, open_console: OpenConsole, period: str):
        page = open_console("olga", "operations").get(f"/console/dashboard?period={period}")
        assert page.status_code == 200
        none = "No reminder step or text had a champion and a challenger in this period."
        assert none in page.text
        data = chart_data(page.text)
        assert len(data["days"]) == int(period)
        assert set(data["promises"]["kept_rate"]) == {None}
        assert data["amounts"] == [] and data["experiments"] == []

    def test_chinese_users_read_the_definitions_in_chinese(self, open_console: OpenConsole):
        page = open_console("wang", "operations", language="zh").get("/console/dashboard")
        assert "当天至少有一条借款人消息的会话" in page.text
        assert "区间包含 0 时即无明显差异" in page.text
        assert chart_data(page.text)["labels"]["contained"] == "机器人完成率"

    def test_without_chart_js_the_page_keeps_its_tables(
        self, open_console: OpenConsole, monkeypatch: pytest.MonkeyPatch, tmp_path
    ):
        monkeypatch.setattr(dashboard_routes, "CHART_JS", tmp_path / "missing.js")
        page = open_console("olga", "operations").get("/console/dashboard")
        assert page.status_code == 200
        assert "<canvas" not in page.text
        assert "chart.umd.min.js" not in page.text and "dashboard.js" not in page.text
        assert "Charts are not installed" in page.text
        assert "<table" in page.text

    def test_with_chart_js_the_page_loads_it_and_its_script_from_the_console(
        self, open_console: OpenConsole, monkeypatch: pytest.MonkeyPatch, tmp_path
    ):
        present = tmp_path / "chart.umd.min.js"
        present.write_text("")
        monkeypatch.setattr(dashboard_routes, "CHART_JS", present)
        html = open_console("olga", "operations").get("/console/dashboard").text
        assert '<script src="/console/static/vendor/chart.umd.min.js" defer></script>' in html
        assert '<script src="/console/static/dashboard.js" defer></script>' in html
        assert html.count("<canvas") >= 5
