"""Operations change what the assistant says from the console: proposed with a note, approved by
someone else, served to the action server and Rasa as the running version, rolled back in one
click; refused with the field named when it breaks a rule; closed to collectors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import ROOT
from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.main import refresh_policies
from backend.money import format_major
from backend.outbound import texts as notices
from backend.texts.catalogue import load_shipped
from tests.backend.api.conftest import TODAY
from tests.backend.api.console_client import Console

SHIPPED = load_shipped(ROOT / "config", ROOT / "nlu")
NEW_BALANCE_ZH = SHIPPED.texts["balance"]["zh"].replace("应还总额", "您目前共需还款")


@pytest.fixture
def ops(open_console: Callable[..., Console]) -> Console:
    return open_console("olga", "operations")


@pytest.fixture
def boss(open_console: Callable[..., Console]) -> Console:
    return open_console("sam", "supervisor")


def propose(console: Console, key: str, *, zh: str | None = None, en: str | None = None,
            note: str = "clearer", section: str = "texts") -> object:  # fmt: skip
    form = console.get("/console/texts/edit", params={"section": section, "key": key})
    assert form.status_code == 200, form.text[:300]
    shipped = SHIPPED.section(section)[key]
    return console.post(
        "/console/texts/propose",
        {"section": section, "key": key, "zh": zh or shipped["zh"], "en": en or shipped["en"],
         "note": note},
    )  # fmt: skip


def on_page(console: Console, url: str, data: dict[str, str] | None = None) -> object:
    """A form on the texts page, sent as a browser would: the page loaded first."""
    console.get("/console/texts")
    return console.post(url, data)


def running(client: TestClient) -> dict:
    response = client.get("/api/v1/texts/running")
    assert response.status_code == 200
    return response.json()


def test_the_running_version_is_the_shipped_texts_until_one_is_approved(client: TestClient):
    response = client.get("/api/v1/texts/running")
    assert response.json() == {
        "version": 0,
        "texts": {},
        "buttons": {},
        "notices": {},
        "experiments": {},
    }
    again = client.get("/api/v1/texts/running", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert (
        client.get("/api/v1/texts/running", headers={"Authorization": "Bearer x"}).status_code
        == 401
    )


def test_proposed_approved_by_another_then_rolled_back(
    ops: Console, boss: Console, client: TestClient, db: Session
):
    proposed = propose(ops, "balance", zh=NEW_BALANCE_ZH, note="warmer wording")
    page = ops.follow(proposed)
    assert "Proposed: it runs once a supervisor approves it." in page.text
    assert "您目前共需还款" in page.text and "warmer wording" in page.text
    assert running(client)["version"] == 0  # nothing runs before approval

    # Operations cannot approve (no approvals role), and a supervisor never their own.
    assert on_page(ops, "/console/texts/1/approve").status_code == 403
    approved = on_page(boss, "/console/texts/1/approve", {"note": "ok"})
    assert "Approved: borrowers get it within seconds." in boss.follow(approved).text
    now = running(client)
    assert now["version"] == 1
    assert (now["texts"], now["buttons"]) == ({"balance": {"zh": NEW_BALANCE_ZH}}, {})

    rolled = on_page(boss, "/console/texts/rollback/0", {"note": "replies dropped"})
    assert "Rolled back" in boss.follow(rolled).text
    assert running(client) == {
        "version": 2,
        "texts": {},
        "buttons": {},
        "notices": {},
        "experiments": {},
    }

    subjects = list(db.scalars(select(AuditEntry.subject).where(AuditEntry.subject.like("texts%"))))
    assert subjects == [
        "texts version 1 proposed: texts.balance",
        "texts version 1 active",
        "texts version 2 runs: back to version 0",
    ]
    # And forward again to version 1's wording, as a new version.
    on_page(boss, "/console/texts/rollback/1", {"note": "it was fine"})
    assert running(client)["texts"] == {"balance": {"zh": NEW_BALANCE_ZH}}


def test_nobody_approves_their_own_change(open_console: Callable[..., Console], client: TestClient):
    admin = open_console("ada", "admin")
    propose(admin, "thanks_promise" if "thanks_promise" in SHIPPED.texts else "handoff",
            en="A person from our team will answer here soon.")  # fmt: skip
    page = admin.get("/console/texts")
    assert "Your own change: another supervisor or admin approves it." in page.text
    refused = on_page(admin, "/console/texts/1/approve")
    assert refused.status_code == 403
    assert "nobody approves their own change" in refused.text
    assert running(client)["version"] == 0


def test_a_broken_text_is_refused_with_the_field_named(ops: Console, client: TestClient):
    refused = propose(ops, "balance", zh="您欠 {total}")
    assert refused.status_code == 422
    assert 'id="error-zh"' in refused.text and "must keep {as_of}" in refused.text
    assert 'id="text-zh" name="zh" rows="6" aria-invalid="true"' in refused.text
    assert "您欠 {total}" in refused.text  # what was typed is kept
    assert 'id="error-en"' not in refused.text
    no_note = propose(ops, "balance", zh=NEW_BALANCE_ZH, note=" ")
    assert no_note.status_code == 422 and "say why" in no_note.text
    unchanged = propose(ops, "balance")
    assert unchanged.status_code == 422 and "nothing changes" in unchanged.text
    assert ops.get("/console/texts").text.count('class="proposal"') == 0
    assert running(client)["version"] == 0


def test_a_proposal_made_before_another_ran_must_be_proposed_again(ops: Console, boss: Console):
    propose(ops, "balance", zh=NEW_BALANCE_ZH)
    propose(ops, "handoff", en="Getting you a person now.")
    on_page(boss, "/console/texts/1/approve")
    stale = on_page(boss, "/console/texts/2/approve")
    assert stale.status_code == 409
    assert "proposed against version 0, but version 1 runs now" in stale.text


def test_collectors_cannot_see_or_change_the_texts(
    open_console: Callable[..., Console], boss: Console
):
    collector = open_console("cole", "collector")
    assert collector.get("/console/texts").status_code == 403
    form = {"section": "texts", "key": "balance", "zh": NEW_BALANCE_ZH, "note": "x"}
    assert collector.post("/console/texts/propose", form).status_code == 403
    # A supervisor sees and decides, but does not write wording.
    assert boss.get("/console/texts").status_code == 200
    edit = boss.get("/console/texts/edit", params={"section": "texts", "key": "balance"})
    assert edit.status_code == 403


def test_export_then_import_as_a_new_proposal(ops: Console, boss: Console, client: TestClient):
    propose(ops, "verified", en="Thank you {name}: that's you.", section="texts")
    on_page(boss, "/console/texts/1/approve")
    exported = ops.get("/console/texts/export")
    assert exported.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(exported.text) == {
        "texts": {"verified": {"en": "Thank you {name}: that's you."}},
        "buttons": {},
        "notices": {},
    }
    on_page(boss, "/console/texts/rollback/0", {"note": "undo"})
    imported = ops.http.post(
        "/console/texts/import",
        data={"csrf_token": ops.csrf, "note": "from git"},
        files={"file": ("texts-1.yml", exported.content, "application/yaml")},
    )
    assert imported.status_code == 303
    assert ops.get("/console/texts").text.count('class="proposal"') == 1
    on_page(boss, "/console/texts/3/approve")
    assert running(client)["texts"] == {"verified": {"en": "Thank you {name}: that's you."}}
    bad = ops.http.post(
        "/console/texts/import",
        data={"csrf_token": ops.csrf, "note": "bad"},
        files={
            "file": ("x.yml", "texts: {balance: {zh: '您欠 {total}'}}".encode(), "application/yaml")
        },
    )
    assert bad.status_code == 422 and "texts.balance.zh: must keep" in bad.text


def test_a_button_title_is_a_text_like_any_other(ops: Console, boss: Console, client: TestClient):
    propose(ops, "/request_human", section="buttons", en="Ask a person")
    on_page(boss, "/console/texts/1/approve")
    assert running(client)["buttons"] == {"/request_human": {"en": "Ask a person"}}


def test_a_second_wording_is_tried_approved_counted_and_ended(
    ops: Console, boss: Console, client: TestClient, db: Session
):
    form = {"challenger_zh": "身份已确认，{name}。", "challenger_en": "{name}, all set.",
            "share": "200"}  # fmt: skip
    page = ops.get("/console/texts/edit", params={"section": "texts", "key": "verified"})
    assert "Try a second wording on some borrowers" in page.text
    shipped = SHIPPED.texts["verified"]
    sent = {"section": "texts", "key": "verified", **shipped, "note": "shorter", **form}
    refused = ops.post("/console/texts/propose", sent)
    assert refused.status_code == 422 and "a share from 0.05 to 0.95" in refused.text
    assert "{name}, all set." in refused.text  # what was typed is kept
    started = ops.post("/console/texts/propose", {**sent, "share": "30"})
    assert started.status_code == 303
    on_page(boss, "/console/texts/1/approve")
    tried = running(client)["experiments"]
    assert tried == {
        "verified": {
            "zh": "身份已确认，{name}。",
            "en": "{name}, all set.",
            "share": 0.3,
            "outcome": "paid_or_promised",
        }
    }
    page = ops.get("/console/texts")
    assert 'data-experiment="verified"' in page.text and "Not said to anyone yet." in page.text

    chat = "/api/v1/conversations/telegram/42"
    client.put(chat, json={})
    said = {"version": 1, "said": [{"key": "verified", "variant": "challenger"}]}
    assert client.post(f"{chat}/text-exposures", json=said).status_code == 200
    page = ops.get("/console/texts")
    assert '<tr data-arm="challenger"><td>challenger</td><td class="num">1</td>' in page.text
    assert "not enough borrowers to compare" in page.text

    # Both wordings left empty: the experiment ends (a version like any other).
    ended = ops.post("/console/texts/propose", {**sent, "challenger_zh": "", "challenger_en": ""})
    assert ended.status_code == 303
    on_page(boss, "/console/texts/2/approve")
    assert running(client)["experiments"] == {}


def test_a_waiting_wording_is_previewed_with_a_loans_figures(
    ops: Console, boss: Console, db: Session, loan: Loan
):
    propose(ops, "balance", zh=NEW_BALANCE_ZH, note="warmer wording")
    page = boss.get("/console/texts", params={"loan": "L1", "language": "zh"})
    assert page.status_code == 200
    statement = ledger.loan_statement(db, loan, TODAY)
    total = format_major(statement.total_outstanding, "CNY")
    assert f"您目前共需还款 {total} CNY" in page.text  # the proposed wording, filled in
    assert f"应还总额 {total} CNY" in page.text  # beside what runs
    assert "As 王芳 would read them, with loan L1" in page.text
    assert 'class="after">借款 L1（截至 2026-04-01）' in page.text
    reads = db.scalars(
        select(AuditEntry.subject).where(AuditEntry.subject == "loan L1 texts preview")
    )
    assert list(reads) == ["loan L1 texts preview"]
    assert "no loan L9" in boss.get("/console/texts", params={"loan": "L9"}).text


def test_the_backends_own_notices_are_texts_too(
    ops: Console, boss: Console, client: TestClient
) -> None:
    """What the backend sends into a chat itself (a collector joined, the bot is back) runs
    in the backend replica once it has checked the running version."""
    app = client.app
    assert isinstance(app, FastAPI)
    page = ops.get("/console/texts", params={"q": "back_to_bot"})
    assert 'data-entry="notices.back_to_bot"' in page.text
    propose(ops, "back_to_bot", en="The assistant is here again.", section="notices")
    on_page(boss, "/console/texts/1/approve")
    try:
        refresh_policies(app)
        assert notices.back_to_bot("en") == "The assistant is here again."
        assert notices.back_to_bot("zh") == notices.TEXTS["back_to_bot"]["zh"]
        on_page(boss, "/console/texts/rollback/0", {"note": "undo"})
        refresh_policies(app)
        assert notices.back_to_bot("en") == notices.TEXTS["back_to_bot"]["en"]
    finally:
        notices.use_running({})
