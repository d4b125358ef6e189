"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.ddl.impl import DefaultImpl
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from backend.migrate import (
    SchemaNotCurrent,
    alembic_config,
    require_current_schema,
    schema_problem,
    upgrade,
)
from backend.models import Base

ROOT = Path(__file__).resolve().parents[3]


def test_migrated_schema_matches_the_models(db: Session) -> None:
    context = MigrationContext.configure(db.connection(), opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


class TestAnInterruptedUpgrade:
    """`make run` may be stopped at any moment: a migration never leaves half a schema."""

    def test_a_failure_halfway_leaves_the_sqlite_file_as_it_was(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = f"sqlite:///{tmp_path / 'backend.db'}"
        created = 0
        real_create_table = DefaultImpl.create_table

        def create_table_then_fail(self: DefaultImpl, table: Any, **kw: Any) -> None:
            nonlocal created
            created += 1
            if created == 12:  # well into the migrations, after several have run
                raise RuntimeError("interrupted")
            real_create_table(self, table, **kw)

        monkeypatch.setattr(DefaultImpl, "create_table", create_table_then_fail)
        with pytest.raises(RuntimeError, match="interrupted"):
            upgrade(url)
        assert tables(url) == set()
        assert schema_problem(url) == (
            "the database has no tables yet: run `.venv/bin/python -m backend migrate`"
        )

        monkeypatch.setattr(DefaultImpl, "create_table", real_create_table)
        upgrade(url)  # and the next run just works
        assert schema_problem(url) is None

    def test_a_killed_upgrade_is_all_or_nothing(self, tmp_path: Path) -> None:
        """SIGKILL (a closed terminal, a crash) in the middle of the migrations: the moment is
        taken from Alembic's own log, so the kill always lands between two migrations."""
        url = f"sqlite:///{tmp_path / 'killed.db'}"
        script = (
            "import logging, sys; from backend.migrate import upgrade; "
            "logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
            f"upgrade({url!r})"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if "Running upgrade 0001 -> 0002" in line:  # one migration done, ten to come
                proc.kill()
                break
        proc.wait()
        assert proc.returncode == -9, "the upgrade ended before it could be interrupted"
        assert tables(url) <= {"alembic_version"}, tables(url)
        assert schema_problem(url) is not None
        upgrade(url)  # and the next run just works
        assert schema_problem(url) is None


class TestSchemaCheck:
    def test_a_database_behind_the_code_names_the_command_to_run(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'old.db'}"
        command.upgrade(alembic_config(url), "0003")
        problem = schema_problem(url)
        assert problem is not None
        assert problem.startswith("the database is at migration 0003")
        assert problem.endswith("run `.venv/bin/python -m backend migrate`")
        with pytest.raises(SchemaNotCurrent):
            require_current_schema(url)

    def test_a_missing_sqlite_file_is_not_created_by_the_check(self, tmp_path: Path) -> None:
        path = tmp_path / "var" / "backend.db"
        assert schema_problem(f"sqlite:///{path}") == (
            f"no database at {path}: run `.venv/bin/python -m backend migrate`"
        )
        assert not path.exists()

    def test_a_database_from_a_newer_release_is_not_mistaken_for_an_old_one(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite:///{tmp_path / 'new.db'}"
        upgrade(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        engine.dispose()
        problem = schema_problem(url)
        assert problem is not None
        assert "which this code does not know" in problem


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
