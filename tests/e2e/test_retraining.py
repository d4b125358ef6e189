"""The tuning loop in a real headless Chromium with the whole stack behind it: a message the
assistant handled badly is labelled (the training file changes), the assistant is retrained
on the real Rasa, compared with the running model, promoted, and Rasa swaps it in while it
keeps answering; then the previous model is restored. The stack's
copy of the NLU project trains small (tests/small_training.py)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import Stack, eventually
from tests.e2e.test_console import contexts, log_in  # noqa: F401  (fixture)
from tests.e2e.webchat_client import WebBorrower
from tests.small_training import shrink

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")

TRAINING_MS = 20 * 60 * 1000  # a small Rasa training on two busy cores, then three scorings


@pytest.fixture
def small_training(stack: Stack) -> Iterator[None]:
    """The stack's NLU copy made small (tests/small_training.py); put back afterwards."""
    kept = shrink(stack.nlu_dir)
    try:
        yield
    finally:
        for path, text in kept.items():
            path.write_text(text, "utf-8")


def rasa_model(stack: Stack) -> str:
    # Rasa answers nothing while it loads a model (its event loop is busy): wait that out
    with stack.rasa_api() as rasa:
        status = rasa.get("/status").json()
    return str(status["model_file"]).rsplit("/", 1)[-1]


def test_label_retrain_promote_and_restore(
    stack: Stack,
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
    small_training: None,
) -> None:
    base = rasa_model(stack)
    assert base.startswith("assistant-"), "Rasa runs the model the backend serves"

    # A borrower's message followed by a call for a person lands in the misunderstood inbox.
    chat = WebBorrower(stack.gateway)
    assert "核实成功" in chat.text(f"/start {stack.link_token('DEMO-07')}")
    chat.text("钱我上礼拜就打过去五百块了呀")
    assert "人工" in chat.text("我要找人工客服")

    page = log_in(stack, browser, contexts, "operations")
    page.goto(f"{stack.backend}/console/tuning?q=上礼拜就打过去")
    row = page.locator("tr", has_text="钱我上礼拜就打过去五百块了呀").first
    expect(row).to_contain_text("then a handoff")
    row.get_by_label("Right intent").select_option("already_paid")
    row.locator("summary").click()
    row.get_by_label("Entity").first.select_option("amount")
    row.get_by_label("exact words").first.fill("五百块")
    row.get_by_role("button", name="Label").last.click()
    expect(page.get_by_role("status")).to_contain_text("Labelled")
    screenshot(page, "console-tuning")
    labelled = yaml.safe_load((stack.nlu_dir / "data" / "nlu" / "labelled.yml").read_text("utf-8"))
    assert labelled["nlu"] == [
        {"intent": "already_paid", "examples": "- 钱我上礼拜就打过去[五百块](amount)了呀\n"}
    ]

    # Retrain: the page follows the run by itself, then shows both models side by side.
    page.goto(f"{stack.backend}/console/models")
    expect(page.locator("#running")).to_contain_text(base)
    expect(page.locator("#running")).to_contain_text("Rasa reports it has this model loaded")
    page.get_by_role("button", name="Retrain now").click()
    expect(page.get_by_role("status")).to_contain_text("Retraining started")
    expect(page.locator("progress")).to_be_visible()
    expect(page.locator("#candidate")).to_be_visible(timeout=TRAINING_MS)
    verdict = page.locator("[data-verdict]")
    expect(verdict).to_have_attribute("data-verdict", "not-worse")
    candidate = page.locator("#candidate h2 code").inner_text()
    page.locator("#candidate summary").click()  # the per-intent table
    expect(page.locator(".per-intent")).to_contain_text("already_paid")
    screenshot(page, "console-models")

    # Promote while a borrower keeps talking: every message is answered through the swap.
    talker = WebBorrower(stack.gateway)
    assert "核实成功" in talker.text(f"/start {stack.link_token('DEMO-07')}")
    answers: list[str] = []
    waits: list[float] = []
    stop = threading.Event()

    def keep_talking() -> None:
        while not stop.is_set():
            began = time.monotonic()
            answers.append(talker.text("你好"))
            waits.append(time.monotonic() - began)
            time.sleep(2.5)  # within the web chat's per-sender rate limit

    thread = threading.Thread(target=keep_talking)
    thread.start()
    try:
        page.get_by_role("button", name="Promote to running").click()
        expect(page.get_by_role("status")).to_contain_text("Promoted")
        eventually(
            lambda: rasa_model(stack) == candidate, seconds=300, what="Rasa runs the new model"
        )
        time.sleep(2)
    finally:
        stop.set()
        thread.join(timeout=90)
    # each greeting got the assistant's own answer, none the gateway's "assistant is down"
    assert answers and all("借款服务助手" in answer for answer in answers), answers
    print(f"during the swap: {len(answers)} greetings, slowest answer {max(waits):.1f} s")
    page.goto(f"{stack.backend}/console/models")
    expect(page.locator("#running")).to_contain_text(candidate)
    expect(page.locator("#running")).to_contain_text("Rasa reports it has this model loaded")
    reader = WebBorrower(stack.gateway)  # the talker used up its rate limit
    assert "核实成功" in reader.text(f"/start {stack.link_token('DEMO-07')}")
    assert "没有需要还款" in reader.text("我现在还欠多少钱")  # DEMO-07 paid off

    # And back to the model that ran before.
    page.get_by_role("button", name="Restore the previous model").click()
    expect(page.get_by_role("status")).to_contain_text("Restored")
    eventually(
        lambda: rasa_model(stack) == base, seconds=300, what="Rasa runs the base model again"
    )
    assert "没有需要还款" in reader.text("我现在还欠多少钱")  # DEMO-07 paid off
    assert re.search(r"restored", page.content())
