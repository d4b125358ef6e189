"""Log-in under attack: a password check holds no database slot, one address is throttled,
every refusal looks the same, strangers cannot lock an admin out, and guessable passwords are
refused wherever a password is set."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.audit.models import AuditEntry
from backend.config import Settings
from backend.main import create_app
from backend.staff import passwords
from backend.staff.models import StaffUser
from tests.backend.api.console_client import PASSWORD, Console, make_user
from tests.backend.apps import app_over

OpenConsole = Callable[..., Console]
_ERROR = re.compile(r'<p class="flash error" role="alert">(.*?)</p>', re.S)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def refusal(response: Any) -> tuple[int, str]:
    """What a refused log-in shows: its status and the error on the page."""
    found = _ERROR.search(response.text)
    return response.status_code, found.group(1) if found else ""


class CountingHasher:
    """pwdlib's hasher, counting its verifications (each one is an argon2 run)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified = 0

    def hash(self, password: str) -> str:
        return self.real.hash(password)  # type: ignore[no-any-return]

    def verify(self, password: str, password_hash: str) -> bool:
        self.verified += 1
        return self.real.verify(password, password_hash)  # type: ignore[no-any-return]


class SlowHasher(CountingHasher):
    """A verification that waits for the test to let it go: a log-in caught mid-check."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.checking = threading.Event()
        self.release = threading.Event()

    def verify(self, password: str, password_hash: str) -> bool:
        self.checking.set()
        self.release.wait(timeout=10)
        return super().verify(password, password_hash)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher(passwords._hasher())
    monkeypatch.setattr(passwords, "_hasher", lambda: counting)
    yield counting


def app_with(db: Session, settings: Settings, **changes: object) -> FastAPI:
    return app_over(db, settings.model_copy(update=changes))


class TestNoSlotHeldWhileCheckingAPassword:
    def test_a_log_in_being_checked_does_not_block_other_requests(
        self,
        committing_engine: Engine,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
    ):
        """One session slot (as on SQLite), sessions as deployed (no test session): a log-in
        whose argon2 check is under way must not make /healthz wait for it."""
        with Session(committing_engine) as session:
            make_user(session, "slot-ann", "collector")
        slow = SlowHasher(passwords._hasher())
        monkeypatch.setattr(passwords, "_hasher", lambda: slow)
        app = create_app(settings)
        app.state.sessionmaker = sessionmaker(committing_engine, expire_on_commit=False)
        app.state.session_slots = asyncio.Semaphore(1)
        events: list[str] = []
        try:
            with TestClient(app, follow_redirects=False) as http, ThreadPoolExecutor(2) as pool:
                form = http.get("/console/login").text
                token = _CSRF.search(form).group(1)  # type: ignore[union-attr]
                login = pool.submit(
                    http.post,
                    "/console/login",
                    data={"username": "slot-ann", "password": "wrong-pass-x", "csrf_token": token},
                )
                assert slow.checking.wait(timeout=10), "the log-in never reached its check"
                health = pool.submit(http.get, "/healthz")
                try:
                    health.result(timeout=5)
                    events.append("healthz answered")
                except TimeoutError:
                    events.append("healthz still waiting")
                events.append("password check released")
                slow.release.set()
                assert login.result(timeout=30).status_code == 401
                assert health.result(timeout=30).status_code == 200
        finally:
            slow.release.set()
            with Session(committing_engine) as session:
                session.execute(delete(AuditEntry).where(AuditEntry.actor == "user:slot-ann"))
                session.execute(delete(StaffUser).where(StaffUser.username == "slot-ann"))
                session.commit()
        assert events == ["healthz answered", "password check released"]


class TestAddressThrottle:
    def test_an_address_is_throttled_after_its_attempts_and_others_are_not(
        self, db: Session, settings: Settings
    ):
        make_user(db, "ann", "collector")
        app = app_with(db, settings, console_logins_per_address=3)
        attacker = Console(app, address="203.0.113.7")
        for name in ("ann", "bob", "carol"):
            assert attacker.login(name, "guess-guess-guess").status_code == 401
        throttled = attacker.login("dave", "guess-guess-guess")
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["retry-after"]) <= 600
        assert "Too many log-in attempts from your address" in throttled.text
        assert 'name="csrf_token"' in throttled.text  # the same log-in page
        assert attacker.login("ann").status_code == 429  # even the right password waits
        assert Console(app, address="198.51.100.2").login("ann").status_code == 303

    def test_successful_log_ins_do_not_count(self, db: Session, settings: Settings):
        """Colleagues behind one office address all log in."""
        app = app_with(db, settings, console_logins_per_address=1)
        for name in ("ann", "bob"):
            make_user(db, name, "collector")
            assert Console(app, address="192.0.2.1").login(name).status_code == 303


class TestRefusalsLookAlike:
    def test_unknown_wrong_locked_and_inactive_answer_alike_after_one_hash_check(
        self, db: Session, settings: Settings, hasher: CountingHasher
    ):
        make_user(db, "ann", "collector")
        make_user(db, "gone", "collector")
        db.scalars(select(StaffUser).where(StaffUser.username == "gone")).one().active = False
        db.commit()
        console = Console(app_with(db, settings, console_max_failed_logins=2))
        answers: dict[str, tuple[int, str]] = {}
        checks: dict[str, int] = {}

        def attempt(label: str, username: str, password: str) -> None:
            before = hasher.verified
            answers[label] = refusal(console.login(username, password))
            checks[label] = hasher.verified - before

        attempt("unknown", "nobody", "wrong-password-x")
        attempt("wrong", "ann", "wrong-password-x")
        attempt("inactive", "gone", PASSWORD)
        console.login("ann", "wrong-password-x")  # the second wrong one in a row: locked
        attempt("locked", "ann", PASSWORD)
        assert set(answers.values()) == {answers["wrong"]}, answers
        assert answers["wrong"][0] == 401
        assert answers["wrong"][1].startswith("Wrong username or password.")
        # as long as a real check each time: timing tells nothing either
        assert checks == {"unknown": 1, "wrong": 1, "inactive": 1, "locked": 1}


class TestStrangersCannotLockAnAdminOut:
    def test_failures_from_other_addresses_do_not_lock_the_admin(
        self, db: Session, settings: Settings
    ):
        make_user(db, "admin", "admin")
        app = app_with(db, settings, console_max_failed_logins=2)
        for address in ("203.0.113.7", "203.0.113.8"):
            stranger = Console(app, address=address)
            for _ in range(2):
                assert stranger.login("admin", "guess-guess-guess").status_code == 401
            assert stranger.login("admin").status_code == 401  # locked: for them only
        assert Console(app, address="198.51.100.2").login("admin").status_code == 303


class TestWeakPasswords:
    @pytest.mark.parametrize(
        ("password", "says"),
        [
            ("aaaaaaaaaa", "at least 12 characters"),
            ("password12", "at least 12 characters"),
            ("aaaaaaaaaaaaaaaa", "mostly one character"),
            ("password1234", "too easy to guess"),
            ("qwertyuiop123", "too easy to guess"),
            ("my-root2-password", "may not contain the username"),
        ],
    )
    def test_an_admin_cannot_create_a_user_with_one(
        self, db: Session, open_console: OpenConsole, password: str, says: str
    ):
        admin = open_console("root", "admin")
        admin.get("/console/users")
        form = {"display_name": "R", "role": "admin", "language": "en", "password": password}
        refused = admin.post("/console/users", {"username": "root2", **form})
        assert refused.status_code == 422
        assert says in refused.text
        assert db.scalars(select(StaffUser).where(StaffUser.username == "root2")).all() == []

    def test_nor_reset_a_password_to_one(self, db: Session, open_console: OpenConsole):
        make_user(db, "ann", "collector")
        admin = open_console("root", "admin")
        admin.get("/console/users")
        refused = admin.post(
            "/console/users/ann", {"change": "password", "password": "letmein12345"}
        )
        assert refused.status_code == 422 and "too easy to guess" in refused.text
        assert Console(admin.http.app).login("ann").status_code == 303  # type: ignore[arg-type]

    def test_a_user_cannot_change_to_one_and_reads_why_in_their_language(
        self, open_console: OpenConsole
    ):
        li = open_console("li", "collector", language="zh")
        li.get("/console/account")
        refused = li.post(
            "/console/account/password",
            {"current_password": PASSWORD, "new_password": "iloveyou1234"},
        )
        assert refused.status_code == 422
        assert "未完成：该密码太容易被猜到" in refused.text
        assert Console(li.http.app).login("li").status_code == 303  # type: ignore[arg-type]

    def test_a_good_one_is_taken(self, open_console: OpenConsole):
        ann = open_console("ann", "collector")
        ann.get("/console/account")
        changed = ann.post(
            "/console/account/password",
            {"current_password": PASSWORD, "new_password": "plum-tractor-velvet"},
        )
        assert changed.status_code == 303
        fresh = Console(ann.http.app)  # type: ignore[arg-type]
        assert fresh.login("ann", "plum-tractor-velvet").status_code == 303
