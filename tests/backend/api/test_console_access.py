"""Who gets into the console and what each role opens: log-in, lockout, sessions, CSRF, and
no chat of another collector through a changed URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.cases import handoffs
from backend.staff.models import StaffSession
from backend.types import utcnow
from tests.backend import factories
from tests.backend.api.console_client import Console, make_user

OpenConsole = Callable[..., Console]


def _chat(db: Session, user_id: str = "42", *, taken_by: str | None = None) -> int:
    who = factories.borrower(db, ref=f"B-{user_id}")
    factories.loan(db, ref=f"L-{user_id}", who=who)
    conversation = factories.conversation(db, who=who, user_id=user_id)
    handoff = factories.handoff(db, conversation=conversation)
    if taken_by is not None:
        handoffs.take(db, handoff=handoff, collector=taken_by)
    db.commit()
    return handoff.id


class TestLogIn:
    def test_pages_send_a_stranger_to_log_in_and_back(self, console_app: FastAPI, db: Session):
        make_user(db, "ann", "collector")
        console = Console(console_app)
        response = console.get("/console/inbox")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/login?next=/console/inbox"
        console.get(response.headers["location"])
        logged_in = console.http.post(
            "/console/login",
            data={
                "username": "ann",
                "password": "correct-horse-battery",
                "csrf_token": console.csrf,
                "next": "/console/inbox",
            },
        )
        assert logged_in.status_code == 303
        assert logged_in.headers["location"] == "/console/inbox"
        assert console.get("/console/inbox").status_code == 200

    def test_session_cookie_is_http_only_and_same_site(self, console_app: FastAPI, db: Session):
        make_user(db, "ann", "collector")
        response = Console(console_app).login("ann")
        cookie = response.headers["set-cookie"]
        assert "console_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/console" in cookie

    def test_wrong_password_and_unknown_user_answer_alike(self, console_app: FastAPI, db: Session):
        make_user(db, "ann", "collector")
        console = Console(console_app)
        wrong = console.login("ann", "not-the-password")
        unknown = console.login("nobody", "not-the-password")
        assert wrong.status_code == unknown.status_code == 401
        assert "Wrong username or password." in wrong.text
        assert "Wrong username or password." in unknown.text

    def test_five_failures_lock_the_account_for_that_address_even_for_the_right_password(
        self, console_app: FastAPI, db: Session
    ):
        make_user(db, "ann", "collector")
        console = Console(console_app)
        for _ in range(5):
            assert console.login("ann", "wrong-password-x").status_code == 401
        locked = console.login("ann")
        assert locked.status_code == 401
        assert "Wrong username or password." in locked.text
        failures = db.scalars(
            select(AuditEntry.subject).where(AuditEntry.action == "login_failed")
        ).all()
        assert failures == ["wrong"] * 5 + ["locked"]

    def test_an_admin_unlocks_an_account(
        self, console_app: FastAPI, db: Session, open_console: OpenConsole
    ):
        make_user(db, "ann", "collector")
        console = Console(console_app)
        for _ in range(5):
            console.login("ann", "wrong-password-x")
        assert console.login("ann").status_code == 401
        admin = open_console("root", "admin")
        assert "an address locked out until" in admin.get("/console/users").text
        assert admin.post("/console/users/ann", {"change": "unlock"}).status_code == 303
        assert console.login("ann").status_code == 303

    def test_log_in_form_without_its_token_is_refused(self, console_app: FastAPI, db: Session):
        make_user(db, "ann", "collector")
        console = Console(console_app)
        response = console.http.post(
            "/console/login", data={"username": "ann", "password": "correct-horse-battery"}
        )
        assert response.status_code == 403
        assert "console_session" not in response.headers.get("set-cookie", "")

    def test_next_never_leaves_the_console(self, console_app: FastAPI, db: Session):
        make_user(db, "ann", "collector")
        console = Console(console_app)
        console.get("/console/login")
        response = console.http.post(
            "/console/login",
            data={
                "username": "ann",
                "password": "correct-horse-battery",
                "csrf_token": console.csrf,
                "next": "//evil.example/console/",
            },
        )
        assert response.headers["location"] == "/console/inbox"


class TestSessions:
    def test_log_out_ends_the_session_on_the_server(self, open_console: OpenConsole):
        console = open_console("ann", "collector")
        console.get("/console/inbox")
        stolen = dict(console.http.cookies)
        assert console.post("/console/logout").status_code == 303
        again = Console(console.http.app)  # type: ignore[arg-type]
        again.http.cookies.update(stolen)
        assert again.get("/console/inbox").status_code == 303

    def test_an_idle_session_expires(self, open_console: OpenConsole, db: Session):
        console = open_console("ann", "collector")
        row = db.scalars(select(StaffSession)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.commit()
        assert console.get("/console/inbox").status_code == 303

    def test_deactivating_a_user_ends_their_sessions(self, open_console: OpenConsole, db: Session):
        ann = open_console("ann", "collector")
        admin = open_console("root", "admin")
        admin.get("/console/users")
        assert admin.post("/console/users/ann", {"change": "deactivate"}).status_code == 303
        assert ann.get("/console/inbox").status_code == 303
        assert Console(ann.http.app).login("ann").status_code == 401  # type: ignore[arg-type]


class TestCsrf:
    def test_a_form_without_the_session_token_is_refused(
        self, open_console: OpenConsole, db: Session
    ):
        handoff_id = _chat(db)
        console = open_console("ann", "collector")
        console.get("/console/inbox")
        response = console.http.post(f"/console/handoffs/{handoff_id}/take", data={})
        assert response.status_code == 403
        assert handoffs.get_handoff(db, handoff_id).status == "waiting"

    def test_a_post_from_another_site_is_refused(self, open_console: OpenConsole, db: Session):
        handoff_id = _chat(db)
        console = open_console("ann", "collector")
        console.get("/console/inbox")
        response = console.post(
            f"/console/handoffs/{handoff_id}/take", headers={"Origin": "https://evil.example"}
        )
        assert response.status_code == 403
        assert handoffs.get_handoff(db, handoff_id).status == "waiting"


class TestRoles:
    def test_a_collector_cannot_open_supervisor_operations_or_admin_pages(
        self, open_console: OpenConsole
    ):
        console = open_console("ann", "collector")
        for page in (
            "/console/approvals",
            "/console/operations",
            "/console/users",
            "/console/audit",
        ):
            response = console.get(page)
            assert response.status_code == 403, page
            assert "Your role does not open this page." in response.text

    def test_operations_see_operations_but_no_borrower_chats(self, open_console: OpenConsole):
        console = open_console("olga", "operations")
        assert console.get("/console/operations").status_code == 200
        assert console.get("/console/inbox").status_code == 403

    def test_a_supervisor_opens_approvals_and_any_chat(
        self, open_console: OpenConsole, db: Session
    ):
        make_user(db, "ann", "collector")
        handoff_id = _chat(db, taken_by="ann")
        boss = open_console("sue", "supervisor")
        assert boss.get("/console/approvals").status_code == 200
        assert boss.get(f"/console/handoffs/{handoff_id}").status_code == 200
        assert boss.get("/console/users").status_code == 403

    def test_each_role_lands_on_its_first_page(self, console_app: FastAPI, db: Session):
        for username, role, home in (
            ("ann", "collector", "/console/inbox"),
            ("olga", "operations", "/console/operations"),
            ("root", "admin", "/console/inbox"),
        ):
            make_user(db, username, role)
            assert Console(console_app).login(username).headers["location"] == home


class TestOtherCollectorsChats:
    def test_a_collector_cannot_open_another_collectors_chat_by_url(
        self, open_console: OpenConsole, db: Session
    ):
        make_user(db, "bob", "collector")
        theirs = _chat(db, taken_by="bob")
        console = open_console("ann", "collector")
        for url in (f"/console/handoffs/{theirs}", f"/console/handoffs/{theirs}/messages"):
            response = console.get(url)
            assert response.status_code == 404, url
            assert "王芳" not in response.text

    def test_nor_act_in_it(self, open_console: OpenConsole, db: Session):
        make_user(db, "bob", "collector")
        theirs = _chat(db, taken_by="bob")
        console = open_console("ann", "collector")
        console.get("/console/inbox")
        for action, data in (
            ("reply", {"text": "hello"}),
            ("note", {"text": "note"}),
            ("close", {"note": ""}),
            ("transfer", {"to": "ann"}),
        ):
            response = console.post(f"/console/handoffs/{theirs}/{action}", data)
            assert response.status_code == 404, action
        assert handoffs.get_handoff(db, theirs).taken_by == "bob"
        assert handoffs.get_handoff(db, theirs).status == "taken"

    def test_a_waiting_chat_is_taken_before_it_is_read(
        self, open_console: OpenConsole, db: Session
    ):
        waiting = _chat(db)
        console = open_console("ann", "collector")
        assert console.get(f"/console/handoffs/{waiting}").status_code == 404
        console.get("/console/inbox")
        taken = console.post(f"/console/handoffs/{waiting}/take")
        assert taken.headers["location"] == f"/console/handoffs/{waiting}?done=taken"
        assert console.get(f"/console/handoffs/{waiting}").status_code == 200

    def test_an_unknown_chat_looks_the_same_as_someone_elses(self, open_console: OpenConsole):
        console = open_console("ann", "collector")
        assert console.get("/console/handoffs/99999").status_code == 404


class TestAudit:
    def test_every_view_of_a_chat_is_in_the_audit_log(self, open_console: OpenConsole, db: Session):
        console = open_console("ann", "collector")
        handoff_id = _chat(db, taken_by="ann")
        console.get(f"/console/handoffs/{handoff_id}")
        console.get(f"/console/handoffs/{handoff_id}")
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.actor == "user:ann", AuditEntry.action == "read")
        ).all()
        chat_views = [e for e in entries if e.subject == f"chat of handoff {handoff_id}"]
        assert len(chat_views) == 2
        assert all(e.borrower_id is not None for e in chat_views)
        assert chat_views[0].via == f"GET /console/handoffs/{handoff_id}"

    def test_the_inbox_view_is_audited_per_borrower_shown(
        self, open_console: OpenConsole, db: Session
    ):
        _chat(db, "1")
        _chat(db, "2")
        console = open_console("ann", "collector")
        console.get("/console/inbox")
        shown = db.scalars(
            select(AuditEntry.borrower_id).where(AuditEntry.subject == "handoff inbox")
        ).all()
        assert len(shown) == 2


class TestBadInput:
    def test_a_tampered_form_field_gets_a_page_not_json(
        self, open_console: OpenConsole, db: Session
    ):
        handoff_id = _chat(db, taken_by="ann")
        console = open_console("ann", "collector")
        console.get(f"/console/handoffs/{handoff_id}")
        response = console.post(
            f"/console/handoffs/{handoff_id}/promise",
            {"loan_ref": "L-42", "amount": "100", "promised_date": "next tuesday"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert "Some of what the form sent is not valid" in response.text

    def test_the_api_keeps_its_json_answer(self, client: TestClient):
        response = client.post("/api/v1/conversations/telegram/42/inbound", json={})
        assert response.status_code == 422
        assert response.json()["detail"]
