"""The operations dashboard in a real headless Chromium: the backend as `make run` starts it
(migrated, demo data seeded), the demo `operations` user logs in, and Chart.js draws every
chart under the console's Content-Security-Policy without an error. Screenshot:
tests/artifacts/dashboard.png. Figures depend on the demo data: none is checked exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.demo.users import DEMO_PASSWORD
from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import demo_backend
from tests.e2e.console_pages import CHARTS_DRAWN, need_chart_js, watched

# Processes of its own: beside the shared stack, on the other pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("own-processes")

TOKEN = "e2e-dashboard-token"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Only the backend: the dashboard needs neither Rasa nor the gateway."""
    need_chart_js()
    with demo_backend(tmp_path_factory, "dashboard", token=TOKEN) as running:
        yield running.url


def open_dashboard(page: Page, backend: str) -> None:
    page.goto(f"{backend}/console/")
    page.get_by_label("Username").fill("operations")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile("/console/dashboard$"))
    expect(page.get_by_role("heading", name="Operations dashboard")).to_be_visible()


def test_operations_sees_the_dashboard_drawn_by_chart_js_under_the_csp(
    backend: str,
    browser: Browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    with watched(browser, errors) as page:
        open_dashboard(page, backend)

        page.wait_for_function(CHARTS_DRAWN)
        canvases = page.locator("canvas")
        assert canvases.count() >= 5  # conversations, promises, delinquency, reminders, NLU
        for section in ("conversations", "promises", "delinquency", "reminders", "nlu"):
            expect(page.locator(f"#{section} canvas").first).to_be_visible()
        expect(page.locator("#conversations .definition")).to_contain_text(
            "at least one borrower message on the day"
        )
        assert page.evaluate("window.cspViolations || []") == []
        assert errors == []
        screenshot(page, "dashboard")

        # The filter reloads the page with the slice; the charts draw again.
        page.get_by_label("Period").select_option("90")
        page.get_by_label("Channel").select_option("webchat")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"period=90&channel=webchat"))
        page.wait_for_function(CHARTS_DRAWN)
        assert page.evaluate("Chart.getChart('chart-nlu').data.labels.length") == 90
        assert page.evaluate("window.cspViolations || []") == []
        assert errors == []


def test_the_compliance_record_in_the_browser_with_its_csv(
    backend: str,
    browser: Browser,  # noqa: F811
) -> None:
    """The demo history's reminders, each decision with its rules, per borrower and in total;
    the CSV downloads with one line per decision. Screenshot: tests/artifacts/compliance.png."""
    errors: list[str] = []
    with watched(browser, errors, accept_downloads=True) as page:
        open_dashboard(page, backend)  # the operations user
        page.get_by_role("link", name="Compliance").click()
        expect(page.get_by_role("heading", name="Compliance record")).to_be_visible()
        page.get_by_label("From").fill("2026-11-01")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"from=2026-11-01&to=2026-11-29"))
        rows = page.locator("#decisions tbody tr")
        expect(rows.first).to_be_visible()
        assert page.locator('#decisions tr[data-action="send"]').count() > 0
        expect(page.locator("#totals tr.total")).to_contain_text("All borrowers")
        expect(rows.first).to_contain_text("window: ")
        screenshot(page, "compliance")
        with page.expect_download() as download:
            page.locator("#compliance-csv").click()
        lines = download.value.path().read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("decided_at_utc,borrower,loan,step")
        assert len(lines) > rows.count()  # the page shows at most 500; the CSV has every one
        assert errors == []
