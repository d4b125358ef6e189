"""Operations change a policy file from the console: checked by the start-up loaders with the
problems named by field, previewed with a loan before it runs, approved by someone else
(compliance by an admin), in force without a restart once the replica checks, and rolled back
in one click; a version the loaders refuse later leaves the policy in force."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import ROOT
from backend.errors import Conflict
from backend.ledger.models import Loan
from backend.main import refresh_policies
from backend.policy_versions.models import PolicyVersion
from backend.policy_versions.running import RunningPolicies
from backend.version_rules import flush
from tests.backend.api.console_client import Console

SHIPPED_PLANS = (ROOT / "config" / "plans.yml").read_text(encoding="utf-8")
NEW_TERMS = SHIPPED_PLANS.replace("terms_months: [3, 6, 12]", "terms_months: [4, 8]")
AS_OF = "2026-03-17"  # the loan is 30 days late: installments are offered


@pytest.fixture
def ops(open_console: Callable[..., Console]) -> Console:
    return open_console("olga", "operations")


@pytest.fixture
def boss(open_console: Callable[..., Console]) -> Console:
    return open_console("sam", "supervisor")


def propose(console: Console, file: str, content: str, note: str = "test") -> object:
    form = console.get("/console/policies/edit", params={"file": file})
    assert form.status_code == 200, form.text[:300]
    return console.post(
        "/console/policies/propose", {"file": file, "content": content, "note": note}
    )


def on_page(console: Console, url: str, data: dict[str, str] | None = None) -> object:
    console.get("/console/policies")
    return console.post(url, data)


def installment_terms(console: Console, loan: Loan, **params: object) -> str:
    page = console.get(
        "/console/operations", params={"loan": loan.ref, "as_of": AS_OF, "language": "en", **params}
    )
    assert page.status_code == 200, page.text[:500]
    return page.text


def offered_terms(client: TestClient) -> set[int]:
    body = client.get("/api/v1/loans/L1/offers", params={"as_of": AS_OF}).json()
    return {o["term_months"] for o in body["offers"] if o["kind"] == "installment"}


def test_a_plan_parameter_is_previewed_approved_in_force_and_rolled_back(
    ops: Console,
    boss: Console,
    client: TestClient,
    console_app: FastAPI,
    loan: Loan,
    db: Session,
):
    app = client.app
    assert isinstance(app, FastAPI)
    before = offered_terms(client)
    assert before == {3, 6, 12}

    proposed = propose(ops, "plans.yml", NEW_TERMS, note="shorter plans")
    assert "runs once a supervisor approves it" in ops.follow(proposed).text
    pending = ops.get("/console/policies").text
    assert "+  terms_months: [4, 8]" in pending and "-  terms_months: [3, 6, 12]" in pending
    version = db.scalar(select(PolicyVersion).where(PolicyVersion.file == "plans.yml"))
    assert version is not None and version.status == "proposed"

    # The preview shows the proposed version's offers (two terms, not three); nothing is in
    # force yet.
    assert installment_terms(ops, loan).count("data-offer=") == len(before) == 3
    preview = installment_terms(ops, loan, policy_version=version.id)
    assert "Previewing plans.yml version 1 (waiting)" in preview
    assert preview.count("data-offer=") == 2
    refresh_policies(app)
    assert offered_terms(client) == before

    assert on_page(ops, f"/console/policies/{version.id}/approve").status_code == 403
    approved = on_page(boss, f"/console/policies/{version.id}/approve")
    assert approved.status_code == 303
    assert refresh_policies(app)
    assert offered_terms(client) <= {4, 8} and offered_terms(client)

    rolled = on_page(
        boss, "/console/policies/rollback", {"file": "plans.yml", "to": "0", "note": "undo"}
    )
    assert rolled.status_code == 303
    assert refresh_policies(app)
    assert offered_terms(client) == before
    subjects = list(
        db.scalars(select(AuditEntry.subject).where(AuditEntry.subject.like("policy %")))
    )
    assert subjects == [
        "policy plans.yml version 1 proposed",
        "policy plans.yml version 1 active",
        "policy plans.yml version 2 runs: back to version 0",
    ]


def test_a_file_that_breaks_the_rules_is_refused_with_the_field_named(ops: Console):
    broken = SHIPPED_PLANS.replace("min_installment: 100", "min_installment: lots")
    refused = propose(ops, "plans.yml", broken)
    assert refused.status_code == 422
    assert '<code class="field">installment.min_installment</code>' in refused.text
    assert "min_installment: lots" in refused.text  # what was typed is kept
    not_yaml = propose(ops, "plans.yml", "installment: [1")
    assert not_yaml.status_code == 422 and "not valid YAML" in not_yaml.text
    # The reminder files are checked together: a step naming a template that is gone.
    templates = (ROOT / "config" / "outreach_templates.yml").read_text(encoding="utf-8")
    first = templates.split("\n")
    refused = propose(ops, "outreach_templates.yml", "\n".join(first[: len(first) // 3]))
    assert refused.status_code == 422
    assert ops.get("/console/policies").text.count('class="proposal"') == 0


def test_only_an_admin_approves_a_compliance_change(
    ops: Console, boss: Console, open_console: Callable[..., Console], db: Session
):
    shipped = (ROOT / "config" / "compliance.yml").read_text(encoding="utf-8")
    assert "08:00" in shipped
    propose(ops, "compliance.yml", shipped.replace("08:00", "09:00", 1), note="later start")
    version = db.scalar(select(PolicyVersion).where(PolicyVersion.file == "compliance.yml"))
    assert version is not None
    page = boss.get("/console/policies").text
    assert "Waits for an admin." in page
    refused = on_page(boss, f"/console/policies/{version.id}/approve")
    assert refused.status_code == 403 and "only an admin decides" in refused.text
    admin = open_console("ada", "admin")
    assert on_page(admin, f"/console/policies/{version.id}/approve").status_code == 303


def test_collectors_cannot_reach_the_policies(open_console: Callable[..., Console]):
    collector = open_console("cole", "collector")
    assert collector.get("/console/policies").status_code == 403
    assert collector.get("/console/policies/edit", params={"file": "plans.yml"}).status_code == 403
    sent = collector.post(
        "/console/policies/propose", {"file": "plans.yml", "content": NEW_TERMS, "note": "x"}
    )
    assert sent.status_code == 403


def test_a_version_the_loaders_refuse_later_leaves_the_policy_in_force(
    client: TestClient, db: Session, caplog: pytest.LogCaptureFixture
):
    app = client.app
    assert isinstance(app, FastAPI)
    in_force = app.state.plan_policy
    # As if a release changed the rules after this version was approved.
    db.add(PolicyVersion(file="plans.yml", number=1, content="installment: {oops: 1}",
                         status="active", note="x", base=0, proposed_by="a"))  # fmt: skip
    db.commit()
    with caplog.at_level(logging.ERROR, "backend.policy_versions.running"):
        assert not refresh_policies(app)
        assert not refresh_policies(app)
    assert app.state.plan_policy is in_force
    assert len([r for r in caplog.records if "not loaded" in r.message]) == 1


def test_the_worker_takes_an_approved_template_at_its_next_job(db: Session):
    """RunningPolicies.outreach(), as each of the worker's jobs asks for it."""
    shipped = (ROOT / "config" / "outreach_templates.yml").read_text(encoding="utf-8")
    running = RunningPolicies(ROOT / "config", None, lambda: contextlib.nullcontext(db), every=0)
    assert "温馨提示" in running.outreach().templates.text("before_due", "zh")
    db.add(PolicyVersion(file="outreach_templates.yml", number=1, status="active", note="x",
                         content=shipped.replace("温馨提示", "友情提示"), base=0,
                         proposed_by="a"))  # fmt: skip
    db.commit()
    assert "友情提示" in running.outreach().templates.text("before_due", "zh")
    assert running.versions == {"outreach_templates.yml": 1}


def test_two_versions_written_at_the_same_moment_are_a_conflict_not_an_error(db: Session):
    """The database keeps one running version a file and its numbers unique; a second writer
    racing the first is told to reload and try again."""
    row = {"file": "plans.yml", "content": NEW_TERMS, "note": "x", "base": 0, "proposed_by": "a"}
    db.add(PolicyVersion(number=1, status="active", **row))
    flush(db)
    with pytest.raises(Conflict, match="at the same moment"), db.begin_nested():
        db.add(PolicyVersion(number=2, status="active", **row))
        flush(db)
    with pytest.raises(Conflict), db.begin_nested():
        db.add(PolicyVersion(number=1, status="proposed", **row))
        flush(db)
