"""The tuning loop on the production topology, in a real headless Chromium through nginx: a
message the assistant handled badly is labelled in the console (the backend's nlu/ changes),
the assistant is retrained on Rasa's trainer, compared with the running model and promoted,
and both Rasa replicas swap it in while a borrower keeps talking; then the previous model is
restored on both. The topology's copy of
nlu/ trains small (tests/small_training.py)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, expect

from bench.topology import Topology
from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import eventually
from tests.e2e.webchat_client import WebBorrower
from tests.prod.console import contexts, log_in  # noqa: F401  (fixture)

TRAINING_MS = 20 * 60 * 1000  # a small Rasa training on two busy cores, then three scorings
OPERATIONS = ("ops-anna", "a-long-console-password-for-tests-7Qx")


def models_of_the_replicas(top: Topology) -> set[str]:
    """The model file each Rasa replica reports it runs (asked one by one, not through nginx)."""
    token = top.backend_env["RASA_TOKEN"]
    files = set()
    for replica in top.replicas("rasa"):
        port = next(iter(replica.ports.values()))
        try:
            status = httpx.get(
                f"http://127.0.0.1:{port}/status", params={"token": token}, timeout=30
            ).json()
        except (httpx.HTTPError, ValueError):
            return set()  # loading a model: its event loop is busy
        files.add(str(status.get("model_file", "")).rsplit("/", 1)[-1])
    return files


def paid_off(top: Topology, generated: list[str]) -> str:
    """A generated borrower who speaks Chinese and has paid their loan off."""
    chinese = set(
        top.postgres.sql("SELECT ref FROM borrowers WHERE language = 'zh'", "lender").split()
    )
    for ref in generated:
        if ref in chinese and '"status": "paid_off"' in top.backend_cli("balance", f"L-{ref}"):
            return ref
    pytest.fail("no paid-off loan among the generated ones")


def test_label_retrain_promote_to_both_replicas_and_restore(
    topology: Topology,
    generated: list[str],
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    (base,) = models_of_the_replicas(topology)
    assert base.startswith("assistant-"), "both replicas run the model the backend serves"
    borrower = paid_off(topology, generated)

    # A borrower's message followed by a call for a person lands in the misunderstood inbox.
    chat = WebBorrower(topology.web)
    assert "核实成功" in chat.text(f"/start {topology.backend_cli('link-token', borrower)}")
    chat.text("钱我上礼拜就打过去五百块了呀")
    assert "人工" in chat.text("我要找人工客服")

    page = log_in(topology, browser, contexts, OPERATIONS, "operations")
    page.goto(f"{topology.http}/console/tuning?q=上礼拜就打过去")
    row = page.locator("tr", has_text="钱我上礼拜就打过去五百块了呀").first
    expect(row).to_contain_text("then a handoff")
    row.get_by_label("Right intent").select_option("already_paid")
    row.locator("summary").click()
    row.get_by_label("Entity").first.select_option("amount")
    row.get_by_label("exact words").first.fill("五百块")
    row.get_by_role("button", name="Label").last.click()
    expect(page.get_by_role("status")).to_contain_text("Labelled")
    labelled = topology.nlu_dir / "data" / "nlu" / "labelled.yml"
    assert yaml.safe_load(labelled.read_text("utf-8"))["nlu"] == [
        {"intent": "already_paid", "examples": "- 钱我上礼拜就打过去[五百块](amount)了呀\n"}
    ]

    # Retrain on the trainer, then both models side by side.
    page.goto(f"{topology.http}/console/models")
    expect(page.locator("#running")).to_contain_text(base)
    page.get_by_role("button", name="Retrain now").click()
    expect(page.get_by_role("status")).to_contain_text("Retraining started")
    expect(page.locator("#candidate")).to_be_visible(timeout=TRAINING_MS)
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "not-worse")
    candidate = page.locator("#candidate h2 code").inner_text()
    screenshot(page, "prod-console-models")

    # Promote while a borrower keeps talking: every message is answered through both swaps.
    talker = WebBorrower(topology.web)
    answers: list[str] = []
    stop = threading.Event()

    def keep_talking() -> None:
        while not stop.is_set():
            answers.append(talker.text("你好"))
            time.sleep(2.5)  # within the web chat's per-sender rate limit

    thread = threading.Thread(target=keep_talking)
    thread.start()
    try:
        page.get_by_role("button", name="Promote to running").click()
        expect(page.get_by_role("status")).to_contain_text("Promoted")
        eventually(
            lambda: models_of_the_replicas(topology) == {candidate},
            seconds=300,
            what="both Rasa replicas run the promoted model",
        )
    finally:
        stop.set()
        thread.join(timeout=90)
    assert answers and all("借款服务助手" in answer for answer in answers), answers

    # And back to the model that ran before, on both.
    page.goto(f"{topology.http}/console/models")
    page.get_by_role("button", name="Restore the previous model").click()
    expect(page.get_by_role("status")).to_contain_text("Restored")
    eventually(
        lambda: models_of_the_replicas(topology) == {base},
        seconds=300,
        what="both Rasa replicas run the previous model again",
    )
    assert "借款服务助手" in WebBorrower(topology.web).text("你好")
