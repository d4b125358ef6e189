"""Headless Chromium for the console's browser tests: Debian's `chromium` driven by Playwright
(installed by `make test`'s set-up, no browser download). Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import IN_CI

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return configured if Path(configured).exists() else shutil.which("chromium")


# Each test module that imports `browser` gets its own session fixture, but Playwright's sync
# API runs once per thread: they share one Chromium, closed when the last of them ends.
_shared: dict[str, Any] = {"users": 0}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the test session (skipped without it, except under CI=true)."""
    path = chromium_path()
    if path is None:
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (scripts/install-browser)")
        pytest.skip("Chromium not installed: run scripts/install-browser")
    if not _shared["users"]:
        playwright = sync_playwright().start()
        _shared["playwright"] = playwright
        _shared["browser"] = playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
    _shared["users"] += 1
    try:
        yield _shared["browser"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _shared.pop("browser").close()
            _shared.pop("playwright").stop()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
