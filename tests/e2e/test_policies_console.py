"""Operations change a policy file from the console, in a real Chromium, with the whole stack
behind it and nothing restarted: the installment terms in plans.yml (a borrower on the web chat
is offered the new terms), and a reminder template (the reminders command renders it, as the
worker would send it); each approved by a supervisor, then rolled back in one click.
Screenshots land in tests/artifacts/."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.config import ROOT
from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import Stack, eventually
from tests.e2e.console_pages import contexts, log_in  # noqa: F401  (a fixture, a helper)
from tests.e2e.webchat_client import WebBorrower

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")

OLD_TERMS = "terms_months: [3, 6, 12]"
NEW_TERMS = "terms_months: [4, 8]"
OLD_GREETING = "a friendly reminder"
NEW_GREETING = "a short reminder"


def propose(page: Page, stack: Stack, file: str, old: str, new: str, note: str) -> None:
    page.goto(f"{stack.backend}/console/policies/edit?file={file}")
    editor = page.locator("#content")
    text = editor.input_value()
    assert old in text, f"{old!r} not in {file}"
    editor.fill(text.replace(old, new))
    page.get_by_label("Why (required)").fill(note)
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("status")).to_contain_text("runs once a supervisor approves it")


def approve(page: Page, stack: Stack, file: str, shot: str) -> None:
    page.goto(f"{stack.backend}/console/policies")
    proposal = page.locator(f'.proposal[data-file="{file}"]')
    expect(proposal.locator(".diff")).to_be_visible()
    screenshot(page, shot)
    proposal.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")


def roll_back_to_shipped(page: Page, stack: Stack, file: str) -> None:
    page.goto(f"{stack.backend}/console/policies")
    section = page.locator(f'section[data-file="{file}"]')
    if section.locator("[data-running]").get_attribute("data-running") == "0":
        return
    row = section.locator('tr[data-history="0"]')
    row.get_by_placeholder("Why (required)").fill("back to what we shipped")
    row.get_by_role("button", name="Run this again").click()
    expect(page.get_by_role("status")).to_contain_text("Rolled back")


def installment_offers(stack: Stack) -> str:
    chat = WebBorrower(stack.gateway)
    assert "核实成功" in chat.text(f"/start {stack.link_token('DEMO-05')}")
    return chat.text("我想分期还款")


def test_an_offer_parameter_is_changed_approved_offered_and_rolled_back(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    shipped = installment_offers(stack)
    assert "分3期" in shipped and "分4期" not in shipped

    ops = log_in(stack, browser, contexts, "operations")
    supervisor = log_in(stack, browser, contexts, "supervisor")
    try:
        # Refused first: the loaders name the field.
        ops.goto(f"{stack.backend}/console/policies/edit?file=plans.yml")
        editor = ops.locator("#content")
        editor.fill(editor.input_value().replace("min_installment: 100", "min_installment: lots"))
        ops.get_by_label("Why (required)").fill("typo")
        ops.get_by_role("button", name="Propose").click()
        expect(ops.locator("#problems")).to_contain_text("installment.min_installment")
        screenshot(ops, "policies-refused")

        propose(ops, stack, "plans.yml", OLD_TERMS, NEW_TERMS, "shorter plans")
        # What the proposed version would offer, before it runs.
        supervisor.goto(f"{stack.backend}/console/policies")
        supervisor.locator('.proposal[data-file="plans.yml"]').get_by_role(
            "link", name="Preview it with a loan"
        ).click()
        supervisor.get_by_label("Loan reference").fill("L-DEMO-05")
        supervisor.get_by_role("button", name="Show").click()
        expect(supervisor.locator("#previewing")).to_contain_text("plans.yml version")
        expect(supervisor.locator("ul.offers li")).not_to_have_count(0)
        screenshot(supervisor, "policies-preview")
        assert "分3期" in installment_offers(stack)  # not in force before approval

        approve(supervisor, stack, "plans.yml", "policies-approval")
        offered = eventually(
            lambda: (text := installment_offers(stack)) and "分4期" in text and text,
            seconds=30,
            what="the new terms offered on the web chat",
        )
        assert "分3期" not in str(offered)
    finally:
        roll_back_to_shipped(supervisor, stack, "plans.yml")
    screenshot(supervisor, "policies-rolled-back")
    eventually(
        lambda: "分3期" in installment_offers(stack), seconds=30, what="the shipped terms again"
    )


def preview_reminder(stack: Stack) -> str:
    """`outreach preview`, as the README shows it, on the stack's database: the text the
    worker would send, from the versions in force."""
    done = subprocess.run(
        [sys.executable, "-m", "backend", "outreach", "preview", "L-DEMO-02", "before_due_3",
         "--language", "en"],
        cwd=ROOT, env=stack.processes.env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_reminder_template_is_changed_approved_sent_and_rolled_back(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    assert OLD_GREETING in preview_reminder(stack)
    ops = log_in(stack, browser, contexts, "operations")
    supervisor = log_in(stack, browser, contexts, "supervisor")
    try:
        propose(ops, stack, "outreach_templates.yml", OLD_GREETING, NEW_GREETING, "shorter")
        assert OLD_GREETING in preview_reminder(stack)
        approve(supervisor, stack, "outreach_templates.yml", "policies-template-approval")
        assert NEW_GREETING in preview_reminder(stack)
    finally:
        roll_back_to_shipped(supervisor, stack, "outreach_templates.yml")
    assert OLD_GREETING in preview_reminder(stack)
