"""The Portfolio page in a real headless Chromium: the backend as `make run` starts it
(migrated, demo data seeded, with its month-end snapshots), the demo `operations` user logs
in, and Chart.js draws every chart under the console's Content-Security-Policy without an
error; every chart's table is there. Screenshot: tests/artifacts/portfolio.png. Figures depend
on the demo data: none is checked exactly."""

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

TOKEN = "e2e-portfolio-token"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Only the backend: the page reads the snapshots `seed-demo` takes."""
    need_chart_js()
    with demo_backend(tmp_path_factory, "portfolio", token=TOKEN) as running:
        yield running.url


def open_portfolio(page: Page, backend: str) -> None:
    page.goto(f"{backend}/console/")
    page.get_by_label("Username").fill("operations")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Portfolio").click()
    expect(page).to_have_url(re.compile("/console/portfolio$"))
    expect(page.get_by_role("heading", name="Portfolio", exact=True)).to_be_visible()


def test_operations_sees_the_portfolio_drawn_by_chart_js_under_the_csp(
    backend: str,
    browser: Browser,  # noqa: F811
) -> None:
    errors: list[str] = []
    with watched(browser, errors) as page:
        open_portfolio(page, backend)

        page.wait_for_function(CHARTS_DRAWN)
        # The bucket counts, the outstanding per currency (CNY, SGD), a vintage chart per
        # product: every one drawn.
        assert page.locator("#distribution canvas").count() >= 2
        assert page.locator("#vintages canvas").count() >= 1
        expect(page.locator("#chart-buckets")).to_be_visible()
        # Thirteen days: the twelve month ends before the business date and yesterday.
        assert page.evaluate("Chart.getChart('chart-buckets').data.labels.length") == 13
        assert page.evaluate("Chart.getChart('chart-vintage-0').data.datasets.length") > 1

        # Every chart as a table too.
        expect(page.locator("#distribution-table tbody tr")).to_have_count(13)
        assert (
            page.locator("#distribution table.outstanding").count()
            == page.locator("#distribution canvas").count() - 1
        )
        expect(page.locator("#roll-table tbody tr").first).to_be_visible()
        assert (
            page.locator("table.vintage-table").count() == page.locator("#vintages canvas").count()
        )
        expect(page.locator("#rolls .definition")).to_contain_text("Each row sums to 100%")
        assert page.evaluate("window.cspViolations || []") == []
        assert errors == []
        screenshot(page, "portfolio")

        # An earlier pair of month ends: the page reloads with its roll rates.
        page.get_by_label("Month ends").select_option(index=1)
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"/console/portfolio\?end=\d{4}-\d{2}-\d{2}$"))
        page.wait_for_function(CHARTS_DRAWN)
        expect(page.locator("#roll-table caption")).to_contain_text("to")
        assert page.evaluate("window.cspViolations || []") == []
        assert errors == []
