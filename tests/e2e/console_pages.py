"""What the console's browser tests share: windows logged in as a demo user, a page that records
the CSP refusals and the errors it logs, and the checks that Chart.js drew."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from backend.console.dashboard_routes import CHART_JS
from backend.demo.users import DEMO_PASSWORD
from tests.conftest import IN_CI

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

TIMEOUT_MS = 20_000
# Every canvas laid out and holding a chart: Chart.js ran, under the page's CSP.
CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll("canvas")];
  return canvases.length > 0 && typeof Chart !== "undefined" && canvases.every(
    (c) => c.width > 0 && c.height > 0 && Chart.getChart(c) !== undefined);
}"""
# Chromium reports CSP refusals as events; collected from before the page's own scripts run.
WATCH_CSP = """document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations = window.cspViolations || [];
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});"""


def console_error(message: ConsoleMessage) -> list[str]:
    """An error the page logged; the browser's own favicon request (the console has none) is
    not the page's."""
    url = message.location.get("url", "")
    if message.type != "error" or url.endswith("/favicon.ico"):
        return []
    return [f"{message.text} ({url})"]


@contextlib.contextmanager
def watched(chromium: Browser, errors: list[str], **options: object) -> Iterator[Page]:
    """A page, in a context of its own closed afterwards, whose CSP refusals go to
    `window.cspViolations` and whose logged errors and exceptions go to `errors`."""
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH_CSP)
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.extend(console_error(m)))
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
    finally:
        context.close()


def need_chart_js() -> None:
    """Chart.js comes with `make setup`: its absence fails in CI and skips elsewhere."""
    if not CHART_JS.exists():
        if IN_CI:
            pytest.fail("Chart.js is not installed: run `make setup`")
        pytest.skip("Chart.js is not installed: run `make setup`")


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser windows opened by the test, each with its own cookies; closed after it."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def log_in(stack: Stack, browser: Browser, opened: list[BrowserContext], username: str) -> Page:
    """A new window logged in to the console as a demo user (README: one per role)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened.append(context)
    page = context.new_page()
    page.goto(f"{stack.backend}/console/")
    page.get_by_label(re.compile("Username|用户名")).fill(username)
    page.get_by_label(re.compile("Password|密码")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("Log in|登录")).click()
    return page
