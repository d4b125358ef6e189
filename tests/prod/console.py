"""The console in the session's Chromium, for the topology's tests: a user made as a lender
makes one (`create-user`; production has no demo users), logged in through nginx."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from bench.topology import Topology

TIMEOUT_MS = 60_000


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser windows opened by the test, each with its own cookies; closed after it."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def log_in(
    top: Topology, browser: Browser, opened: list[BrowserContext], user: tuple[str, str], role: str
) -> Page:
    """`user` (name, password) created with `role`, then logged in, in a window of its own."""
    name, password = user
    top.backend_cli("create-user", name, "--role", role, "--password-stdin", stdin=password + "\n")
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened.append(context)
    page = context.new_page()
    page.goto(f"{top.http}/console/")
    page.get_by_label(re.compile("Username|用户名")).fill(name)
    page.get_by_label(re.compile("Password|密码")).fill(password)
    page.get_by_role("button", name=re.compile("Log in|登录")).click()
    return page
