"""The Portfolio page: who may open it (a collector gets the dashboard's refusal), the empty
state before any snapshot, and over hand-written snapshots every figure as a table, the chart
data as JSON the page never executes, and the roll-rate pair chosen."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.backend.api.console_client import Console
from tests.backend.integration.test_portfolio_analytics import write_book

OpenConsole = Callable[..., Console]
DATA = re.compile(r'<script type="application/json" id="portfolio-data">(.*?)</script>', re.S)
NAV_LINK = '<a href="/console/portfolio"'


def chart_data(html: str) -> dict[str, Any]:
    found = DATA.search(html)
    assert found, "no portfolio-data element"
    return dict(json.loads(found.group(1)))


def table(html: str, marker: str) -> str:
    """The table element whose opening tag contains `marker`."""
    start = html.index(marker)
    return html[html.rindex("<table", 0, start) : html.index("</table>", start)]


class TestWhoMayOpenIt:
    @pytest.mark.parametrize("role", ["operations", "supervisor", "admin"])
    def test_operations_supervisors_and_admins_open_it_from_the_navigation(
        self, open_console: OpenConsole, role: str
    ) -> None:
        console = open_console("pat", role)
        page = console.get("/console/portfolio")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'aria-current="page">Portfolio</a>' in page.text
        home = console.get("/console/account").text
        assert NAV_LINK in home

    def test_the_link_sits_next_to_the_dashboard_for_operations(
        self, open_console: OpenConsole
    ) -> None:
        html = open_console("olga", "operations").get("/console/dashboard").text
        assert html.index(NAV_LINK) > html.index('<a href="/console/dashboard"')
        assert html.index(NAV_LINK) < html.index('<a href="/console/models"')

    def test_a_collector_gets_the_dashboards_refusal(
        self, open_console: OpenConsole, db: Session
    ) -> None:
        write_book(db)
        console = open_console("carl", "collector")
        page = console.get("/console/portfolio")
        dashboard = console.get("/console/dashboard")
        assert page.status_code == dashboard.status_code == 403
        assert "Your role does not open this page." in page.text
        # The same page, but for the path the language switch comes back to.
        assert page.text.replace("/console/portfolio", "/console/dashboard") == dashboard.text
        assert "portfolio-data" not in page.text
        assert NAV_LINK not in console.get("/console/inbox").text

    def test_without_logging_in_the_browser_goes_to_the_log_in_page(self, console_app: Any) -> None:
        page = Console(console_app).get("/console/portfolio")
        assert page.status_code == 303
        assert page.headers["location"] == "/console/login?next=/console/portfolio"


class TestThePage:
    def test_before_any_snapshot_it_says_how_one_is_taken(self, open_console: OpenConsole) -> None:
        page = open_console("olga", "operations").get("/console/portfolio")
        assert page.status_code == 200
        assert 'id="portfolio-empty"' in page.text
        assert "No snapshot yet: the worker takes one after each business day" in page.text
        assert "<code>python -m backend snapshot</code>" in page.text
        assert "portfolio-data" not in page.text
        assert "<table" not in page.text

    def test_every_figure_is_in_a_table_with_its_definition(
        self, open_console: OpenConsole, db: Session
    ) -> None:
        write_book(db)
        page = open_console("olga", "operations").get("/console/portfolio")
        assert page.status_code == 200
        html = page.text
        for section in ("distribution", "rolls", "vintages"):
            assert f'id="{section}"' in html
        assert "Closed loans, with nothing left to pay, are in no bucket" in html
        assert "Each row sums to 100%" in html
        assert "a closed loan is not past due" in html

        buckets = table(html, 'id="distribution-table"')
        # 31 March: current 2, 1-30 1, 31-60 1, 61-90 1, none later; 5 open, 1 closed.
        assert re.search(
            r'<th scope="row">2026-03-31</th>'
            + "".join(rf'<td class="num[^"]*">{n}</td>' for n in (2, 1, 1, 1, 0, 0, 5, 1)),
            buckets,
        )
        assert "2026-02-10" not in buckets  # neither a month end nor the latest
        assert re.search(r"2026-05-03 <span[^>]*>\(latest\)</span>", buckets)

        cny = table(html, 'data-currency="CNY"')
        assert "50.00 CNY" in cny  # 31 March, current: L5 (5,000 minor units)
        assert "86.00 CNY" in cny  # its total: 50.00 + 27.00 + 9.00
        assert "SGD" not in cny
        assert "10.50 SGD" in table(html, 'data-currency="SGD"')  # 30 April, 91-180

        rolls = table(html, 'id="roll-table"')
        assert "<caption>2026-03-31 to 2026-04-30</caption>" in rolls
        # Current on 31 March: one of two still current, one in 91-180.
        assert re.search(
            r'<th scope="row">current</th><td class="num">2</td>'
            r'<td class="num same heat-5">50.0% <span class="n">1 of 2</span></td>',
            rolls,
        )
        assert 'class="num worse heat-5">50.0%' in rolls
        assert 'class="num better heat-10">100.0%' in rolls  # 1-30 cured

        a = table(html, 'data-product="A"')
        assert '<th scope="row">2026-01</th><td class="num">2</td>' in a
        assert 'title="1 of 2 loans on 2026-04-30">50.0%</td>' in a

        data = chart_data(html)
        assert data["days"] == [
            "2026-01-31",
            "2026-02-28",
            "2026-03-31",
            "2026-04-30",
            "2026-05-03",
        ]
        assert data["loans"][0] == [4, 3, 2, 2, 1]  # current
        assert [o["currency"] for o in data["outstanding"]] == ["CNY", "SGD"]
        assert data["outstanding"][1]["values"][4][3] == "10.50"  # SGD 91-180 on 30 April
        b = data["vintages"][1]
        assert b["product"] == "B" and b["months_on_book"] == [0, 1, 2, 3, 4]
        assert b["lines"][0] == {"label": "2025-12", "shares": [None, 0.0, 0.0, 0.0, 1.0]}

    def test_the_roll_rates_of_an_earlier_pair(self, open_console: OpenConsole, db: Session):
        write_book(db)
        page = open_console("sue", "supervisor").get("/console/portfolio?end=2026-03-31")
        assert page.status_code == 200
        assert '<option value="2026-03-31" selected>' in page.text
        rolls = table(page.text, 'id="roll-table"')
        assert "<caption>2026-02-28 to 2026-03-31</caption>" in rolls
        assert 'class="num better heat-4">33.3% <span class="n">1 of 3</span>' in rolls  # closed

    def test_a_tampered_month_end_is_a_bad_form_page(self, open_console: OpenConsole) -> None:
        page = open_console("olga", "operations").get("/console/portfolio?end=last-month")
        assert page.status_code == 422
        assert "Some of what the form sent is not valid" in page.text

    def test_in_chinese(self, open_console: OpenConsole, db: Session) -> None:
        write_book(db)
        page = open_console("li", "operations", language="zh").get("/console/portfolio")
        assert "按逾期阶段的借款分布" in page.text
        assert "账龄曲线：逾期 30 天以上" in page.text
        assert ">资产组合</a>" in page.text
        assert chart_data(page.text)["buckets"][0] == "未逾期"
