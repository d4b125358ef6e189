"""Operations change what the assistant says from the console, in a real Chromium, with the whole
stack behind it and nothing restarted: a wording that drops a figure is refused with the field
named; the Chinese balance reply (said by the action server) and the Chinese "thank you" (one of
Rasa's own replies) are changed, approved by a supervisor, said to a borrower on the web chat,
then rolled back. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.messages import variant_for
from backend.borrowers.models import Borrower
from backend.db import make_engine
from backend.texts.experiments import arm_key
from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import Stack, eventually
from tests.e2e.console_pages import contexts, log_in  # noqa: F401  (a fixture, a helper)
from tests.e2e.webchat_client import WebBorrower

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")

NEW_TOTAL = "您目前共需还款"  # in place of 应还总额
NEW_THANKS = "不用谢，能帮到您就好。"
CHALLENGER_TOTAL = "您目前合计应还"


def open_entry(page: Page, stack: Stack, key: str) -> None:
    page.goto(f"{stack.backend}/console/texts")
    page.get_by_placeholder("Find a text").fill(key)
    page.get_by_role("button", name="Find").click()
    page.locator(f'tr[data-entry="texts.{key}"]').get_by_role("link", name="Change").click()
    expect(page.get_by_role("heading", name=f"Change “{key}”")).to_be_visible()


def approve_the_waiting_version(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.backend}/console/texts")
    page.locator(".proposal").get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")


def test_a_wording_is_changed_approved_said_and_rolled_back_without_a_restart(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    chat = WebBorrower(stack.gateway)
    assert "核实成功" in chat.text(f"/start {stack.link_token('DEMO-01')}")
    assert "应还总额" in chat.text("我现在还欠多少钱")

    ops = log_in(stack, browser, contexts, "operations")
    supervisor = log_in(stack, browser, contexts, "supervisor")
    try:
        # A wording that drops the figures is refused, the field named, what was typed kept.
        open_entry(ops, stack, "balance")
        chinese = ops.get_by_label("中文", exact=True)
        shipped = chinese.input_value()
        chinese.fill("您欠款 {total} {cur}。")
        ops.get_by_label("Why (required)").fill("warmer wording")
        ops.get_by_role("button", name="Propose").click()
        expect(ops.locator("#error-zh")).to_contain_text("must keep {as_of}")
        expect(ops.get_by_label("中文", exact=True)).to_have_attribute("aria-invalid", "true")
        expect(ops.get_by_label("中文", exact=True)).to_have_value("您欠款 {total} {cur}。")
        screenshot(ops, "texts-refused")

        ops.get_by_label("中文", exact=True).fill(shipped.replace("应还总额", NEW_TOTAL))
        ops.get_by_role("button", name="Propose").click()
        expect(ops.get_by_role("status")).to_contain_text("runs once a supervisor approves it")
        proposal = ops.locator(".proposal")
        expect(proposal).to_contain_text(NEW_TOTAL)
        expect(proposal).to_contain_text("Waits for a supervisor or admin")
        assert "应还总额" in chat.text("我现在还欠多少钱")  # not before it is approved

        supervisor.goto(f"{stack.backend}/console/texts")
        expect(supervisor.locator(".proposal .after")).to_contain_text(NEW_TOTAL)
        expect(supervisor.locator(".proposal")).to_contain_text("warmer wording")
        # As DEMO-01 would read it, with the loan's figures.
        supervisor.locator("#preview-form").get_by_label("Loan reference").fill("L-DEMO-01")
        supervisor.get_by_role("button", name="Preview with this loan").click()
        expect(supervisor.locator("#previewing")).to_contain_text("As 王芳 would read them")
        expect(supervisor.locator(".proposal .after").first).to_contain_text("借款 L-DEMO-01")
        screenshot(supervisor, "texts-approval")
        approve_the_waiting_version(supervisor, stack)

        # One of Rasa's own replies, on top of the version now running.
        open_entry(ops, stack, "utter_thank")
        ops.get_by_label("中文", exact=True).fill(NEW_THANKS)
        ops.get_by_label("Why (required)").fill("friendlier")
        ops.get_by_role("button", name="Propose").click()
        approve_the_waiting_version(supervisor, stack)
        expect(supervisor.locator("[data-running]")).to_contain_text("version")
        screenshot(supervisor, "texts-versions")

        # The borrower gets both within seconds; no process restarted.
        eventually(
            lambda: NEW_TOTAL in chat.text("我现在还欠多少钱"),
            seconds=30,
            what="the new balance wording said by the action server",
        )
        eventually(
            lambda: NEW_THANKS in chat.text("谢谢"),
            seconds=30,
            what="the new thanks said by Rasa",
        )
    finally:
        # One click back to the shipped texts (also when a step above failed).
        supervisor.goto(f"{stack.backend}/console/texts")
        if supervisor.locator("[data-running]").get_attribute("data-running") != "0":
            row = supervisor.locator('tr[data-history="0"]')
            row.get_by_placeholder("Why (required)").fill("back to what we shipped")
            row.get_by_role("button", name="Run this again").click()
            expect(supervisor.get_by_role("status")).to_contain_text("Rolled back")
    screenshot(supervisor, "texts-rolled-back")
    eventually(
        lambda: "应还总额" in chat.text("我现在还欠多少钱"),
        seconds=30,
        what="the shipped balance wording again",
    )
    eventually(lambda: NEW_THANKS not in chat.text("谢谢"), seconds=30, what="the shipped thanks")
    expect(supervisor.locator("#history")).to_contain_text("(back to 0)")


def test_a_second_wording_is_said_to_the_borrowers_it_falls_to_and_counted(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    engine = make_engine(stack.processes.env["DATABASE_URL"])
    with Session(engine) as session:
        borrower_id = session.scalar(select(Borrower.id).where(Borrower.ref == "DEMO-01"))
    assert borrower_id is not None
    key = arm_key(stack.processes.env.get("ID_HASH_KEY", "dev-id-hash-key"), borrower_id)
    expected = variant_for("balance", key, 0.5)

    ops = log_in(stack, browser, contexts, "operations")
    supervisor = log_in(stack, browser, contexts, "supervisor")
    try:
        open_entry(ops, stack, "balance")
        ops.get_by_text("Try a second wording on some borrowers").click()
        shipped = ops.get_by_label("中文", exact=True).input_value()
        ops.get_by_label("Challenger · 中文").fill(shipped.replace("应还总额", CHALLENGER_TOTAL))
        ops.get_by_label("Challenger · English").fill(
            ops.get_by_label("English", exact=True).input_value()
        )
        ops.get_by_label("Share").fill("50")
        ops.get_by_label("Why (required)").fill("does a softer total get more promises?")
        ops.get_by_role("button", name="Propose").click()
        expect(ops.get_by_role("status")).to_contain_text("runs once a supervisor approves it")
        approve_the_waiting_version(supervisor, stack)

        chat = WebBorrower(stack.gateway)
        assert "核实成功" in chat.text(f"/start {stack.link_token('DEMO-01')}")
        supervisor.goto(f"{stack.backend}/console/texts")
        row = supervisor.locator(f'[data-experiment="balance"] tr[data-arm="{expected}"]')

        def asked_and_counted() -> str | None:
            """The balance asked for until the action server, which follows the running
            version every few seconds, has said a wording under the experiment and reported
            it; the last reply."""
            reply = chat.text("我现在还欠多少钱")
            supervisor.reload()
            counted = row.count() and row.locator("td.num").first.inner_text() == "1"
            return reply if counted else None

        reply = eventually(asked_and_counted, seconds=40, what="the borrower counted")
        said = CHALLENGER_TOTAL if expected == "challenger" else "应还总额"
        assert said in str(reply)
        screenshot(supervisor, "texts-experiment")
    finally:
        supervisor.goto(f"{stack.backend}/console/texts")
        if supervisor.locator("[data-running]").get_attribute("data-running") != "0":
            row = supervisor.locator('tr[data-history="0"]')
            row.get_by_placeholder("Why (required)").fill("experiment over")
            row.get_by_role("button", name="Run this again").click()
            expect(supervisor.get_by_role("status")).to_contain_text("Rolled back")
