"""Production refuses a database with the demo data `seed-demo` puts in it: the demo borrowers,
the demo history's, and demo console users still on the README's password. The app and the
outreach worker stop with one line per kind; `deactivate-demo-users` clears the users."""

from __future__ import annotations

import secrets
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import __main__ as cli
from backend.config import Settings, get_settings
from backend.db import make_engine
from backend.demo.detection import demo_borrower_refs, demo_data_problems, demo_usernames
from backend.demo.seed import seed_demo
from backend.demo.users import DEMO_PASSWORD
from backend.main import create_app
from backend.staff import service as staff
from backend.staff.models import StaffUser
from backend.startup import refuse_demo_data
from backend.types import utcnow
from tests.backend import factories

TODAY = date(2026, 11, 29)
REAL = {name: secrets.token_hex(32) for name in ("service_token", "id_hash_key", "rasa_token")}


def production(database_url: str) -> Settings:
    return Settings(app_env="production", database_url=database_url, **REAL)


class TestWhatCountsAsDemoData:
    def test_an_empty_database_holds_none(self, db: Session) -> None:
        assert demo_data_problems(db) == []

    def test_the_demo_historys_borrowers_are_found(self, db: Session) -> None:
        factories.borrower(db, "HIST-0001")
        assert demo_borrower_refs(db) == ["HIST-0001"]
        assert "(HIST-0001)" in demo_data_problems(db)[0]

    def test_the_demo_borrowers_are_found(self, db: Session) -> None:
        assert seed_demo(db, id_hash_key="k", today=TODAY)
        assert demo_borrower_refs(db) == ["DEMO-01", "DEMO-02", "DEMO-03"]
        (line,) = demo_data_problems(db)
        assert line.startswith("production refuses a database with the demo borrowers in it")
        assert "(DEMO-01, DEMO-02, DEMO-03, ...)" in line
        assert "DATABASE_URL" in line

    def test_a_real_borrower_is_not(self, db: Session) -> None:
        factories.borrower(db, "B-2026-0001")
        assert demo_data_problems(db) == []

    def test_demo_users_count_only_active_and_on_the_readmes_password(self, db: Session) -> None:
        for name in ("admin", "collector", "ann"):  # argon2 is slow: a few users tell it all
            make_user(db, name, DEMO_PASSWORD)
        assert demo_usernames(db) == ["admin", "collector"]  # ann is nobody the README names
        staff.update_user(db, user=staff.get_user(db, "collector"), now=utcnow(), active=False)
        assert demo_usernames(db) == ["admin"]
        (line,) = demo_data_problems(db)
        assert line.startswith("production refuses the demo console users")
        assert "(admin)" in line
        assert "python -m backend deactivate-demo-users" in line
        admin = staff.get_user(db, "admin")
        staff.update_user(db, user=admin, now=utcnow(), password="tangerine-ocelot-harbour-71")
        assert demo_usernames(db) == []  # a real admin called admin


def make_user(db: Session, username: str, password: str) -> None:
    staff.create_user(
        db, username=username, display_name=username, role="admin", language="en",
        password=password,
    )  # fmt: skip


@pytest.fixture
def seeded_file(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        seed_demo(session, id_hash_key="k", today=TODAY)
    engine.dispose()
    return url


class TestStartUp:
    def test_the_app_stops_on_demo_data_in_production(self, seeded_file: str) -> None:
        with pytest.raises(SystemExit) as refused:
            create_app(production(seeded_file))
        assert str(refused.value.code).startswith("production refuses a database with the demo")

    def test_elsewhere_demo_data_is_what_make_run_serves(self, seeded_file: str) -> None:
        create_app(Settings(app_env="development", database_url=seeded_file))

    def test_a_database_without_tables_holds_no_demo_data(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'new.db'}"
        refuse_demo_data(production(url), make_engine(url))  # migrate comes next

    def test_the_outreach_worker_stops_too(
        self, seeded_file: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.chdir(tmp_path)  # no developer's .env
        for name, value in {**REAL, "app_env": "production", "database_url": seeded_file}.items():
            monkeypatch.setenv(name.upper(), value)
        get_settings.cache_clear()
        try:
            with pytest.raises(SystemExit) as refused:
                cli.main(["outreach", "worker"])
        finally:
            get_settings.cache_clear()
        assert str(refused.value.code).startswith("production refuses a database with the demo")


def test_deactivate_demo_users_clears_them_and_says_who(
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "users.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session, session.begin():
        make_user(session, "supervisor", DEMO_PASSWORD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    try:
        cli.main(["deactivate-demo-users"])
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().out == "deactivated: supervisor\n"
    with Session(engine) as session:
        assert not any(session.scalars(select(StaffUser.active)))
        assert demo_usernames(session) == []
    engine.dispose()
