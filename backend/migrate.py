"""Apply Alembic migrations programmatically (used by the CLI, `make run` and tests), and tell
a process whether the database it is about to use is at the latest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool

from backend.db import ensure_sqlite_folder

HERE = Path(__file__).resolve().parent
MIGRATE_COMMAND = ".venv/bin/python -m backend migrate"


def alembic_config(url: str) -> Config:
    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, connection: Connection | None = None) -> None:
    """To the latest migration, all or nothing (one transaction, SQLite included)."""
    ensure_sqlite_folder(url)
    config = alembic_config(url)
    if connection is not None:
        config.attributes["connection"] = connection
    command.upgrade(config, "head")


class SchemaNotCurrent(Exception):
    """The database is missing or behind (or ahead of) this code's migrations; the message is
    one line saying what to run."""


def schema_problem(url: str) -> str | None:
    """None when the database at `url` is at the latest migration; else one line for the user.

    Checked by every process before it touches the database, so none ever runs on a
    half-made schema (the reminders worker once raced the backend's own migration)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return f"no database at {url.removeprefix('sqlite:///')}: run `{MIGRATE_COMMAND}`"
    script = ScriptDirectory.from_config(alembic_config(url))
    heads = set(script.get_heads())
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        return f"cannot read the database's migration state: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    if current == heads:
        return None
    if not current:
        return f"the database has no tables yet: run `{MIGRATE_COMMAND}`"
    try:
        for revision in current:
            script.get_revision(revision)
    except Exception:
        return (
            f"the database is at migration {', '.join(sorted(current))}, which this code does "
            "not know (a newer release migrated it): run that release, or restore a backup"
        )
    return (
        f"the database is at migration {', '.join(sorted(current))}, this code needs "
        f"{', '.join(sorted(heads))}: run `{MIGRATE_COMMAND}`"
    )


def require_current_schema(url: str) -> None:
    """Raise SchemaNotCurrent with the one line to show unless the schema is at head."""
    problem = schema_problem(url)
    if problem is not None:
        raise SchemaNotCurrent(problem)
