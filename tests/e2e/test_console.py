"""The collector console in a real headless Chromium, with the whole stack behind it: a
borrower escalates through the web chat API, a collector serves them in the console, and the
bot takes over again. Screenshots of the inbox and the chat land in tests/artifacts/."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import Stack, eventually
from tests.e2e.console_pages import contexts, log_in  # noqa: F401  (a fixture, a helper)
from tests.e2e.webchat_client import WebBorrower

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")

TIMEOUT_MS = 20_000


def test_a_collector_serves_an_escalated_borrower_and_hands_back_to_the_bot(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    page = log_in(stack, browser, contexts, "collector")
    expect(page).to_have_url(re.compile("/console/inbox$"))
    expect(page.get_by_role("heading", name="Handoff inbox")).to_be_visible()

    # The borrower escalates while the inbox is open: the row appears without a reload.
    chat = WebBorrower(stack.gateway)
    chat.open_page()
    assert "核实成功" in chat.text(f"/start {stack.link_token('DEMO-08')}")
    assert "人工" in chat.text("我要找人工客服")
    row = page.locator("tr", has_text="DEMO-08").first
    expect(row).to_be_visible()
    expect(row).to_contain_text("asked for a person")
    expect(row).to_contain_text("Chinese")
    expect(row).to_contain_text("180+")
    expect(row).to_contain_text("CNY")
    screenshot(page, "console-inbox")

    row.get_by_role("button", name="Take").click()
    expect(page).to_have_url(re.compile(r"/console/handoffs/\d+\?done=taken$"))
    handoff_url = page.url.split("?")[0]
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("我要找人工客服")
    expect(transcript).to_contain_text("request_human")  # the bot's reading of the message
    expect(page.locator(".loan")).to_contain_text("L-DEMO-08")
    eventually(
        lambda: any("客服" in p["text"] and p["from"] == "system" for p in chat.pushed),
        what="the borrower told a person joined",
    )

    # Another collector cannot read this chat by changing the URL.
    other = log_in(stack, browser, contexts, "collector.zh")
    other.goto(handoff_url)
    expect(other.get_by_role("heading", name="未找到。")).to_be_visible()
    expect(other.locator("body")).not_to_contain_text("陈静")

    page.get_by_placeholder("Reply to the borrower").fill(
        "您好，我是客服 Alex，请问有什么可以帮您？"
    )
    page.get_by_role("button", name="Send", exact=True).click()
    eventually(
        lambda: any(p["text"].startswith("您好，我是客服 Alex") for p in chat.pushed),
        what="the collector's reply pushed to the borrower's page",
    )

    # The borrower answers; the collector sees it arrive live.
    assert chat.say("我下周五可以先还一部分") == []  # a person has the chat: no bot reply
    expect(transcript).to_contain_text("我下周五可以先还一部分")

    with stack.api() as api:
        minimum = api.get("/loans/L-DEMO-08/promise-policy").json()["minimum_amount"]
    page.get_by_text("Record a promise to pay").click()
    form = page.locator("#promise-form")
    form.get_by_label("Amount").fill(minimum)
    form.get_by_label("Pay by").fill("2026-12-04")
    form.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_contain_text("Promise recorded")
    expect(page.locator(".loan")).to_contain_text("2026-12-04")
    with stack.api() as api:
        promises = api.get("/loans/L-DEMO-08/promises").json()
    assert (minimum, "2026-12-04", "open", "collector") in [
        (p["amount"], p["promised_date"], p["status"], p["source"]) for p in promises
    ]
    screenshot(page, "console-chat")

    page.get_by_label("Closing note").fill("promise taken for 12-04")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("the bot has the chat again")
    eventually(
        lambda: any(p.get("from") == "system" and "智能助手" in p["text"] for p in chat.pushed),
        what="the hand-back notice",
    )
    assert "应还总额" in chat.text("我现在还欠多少钱")  # the bot answers again


def test_the_console_speaks_the_users_language(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    page = log_in(stack, browser, contexts, "collector.zh")
    expect(page.get_by_role("heading", name="转人工队列")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Handoff inbox")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="转人工队列")).to_be_visible()


def test_a_collector_cannot_open_supervisor_pages(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    page = log_in(stack, browser, contexts, "collector")
    expect(page.get_by_role("link", name="Approvals")).to_have_count(0)
    expect(page.get_by_role("link", name="Texts")).to_have_count(0)
    expect(page.get_by_role("link", name="Policies")).to_have_count(0)
    pages = ("/console/approvals", "/console/users", "/console/operations", "/console/texts",
             "/console/policies", "/console/texts/edit?section=texts&key=balance",
             "/console/policies/edit?file=plans.yml")  # fmt: skip
    for path in pages:
        response = page.goto(f"{stack.backend}{path}")
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading")).to_contain_text("Your role does not open this page")
    supervisor = log_in(stack, browser, contexts, "supervisor")
    expect(supervisor.get_by_role("link", name="Approvals")).to_be_visible()
    supervisor.get_by_role("link", name="Approvals").click()
    expect(
        supervisor.get_by_role("heading", name="Settlements waiting for approval")
    ).to_be_visible()


def test_the_web_chat_page_talks_with_the_assistant(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    """The borrower's side in the browser too: the page served by the gateway."""
    context = browser.new_context(viewport={"width": 420, "height": 860}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{stack.gateway}/webchat?start={stack.link_token('DEMO-02')}")
    expect(page.locator("body")).to_contain_text("Thanks Emily", timeout=60_000)
    page.get_by_role("textbox").fill("how much do I owe")
    page.get_by_role("textbox").press("Enter")
    expect(page.locator("body")).to_contain_text("SGD", timeout=60_000)
    screenshot(page, "webchat")
    assert httpx.get(f"{stack.gateway}/healthz").status_code == 200
