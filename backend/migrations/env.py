"""Alembic environment: the URL comes from the caller (backend.migrate) or DATABASE_URL."""

from alembic import context
from sqlalchemy import engine_from_config, event, pool

from backend.config import get_settings
from backend.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(
            {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        if connectable.dialect.name == "sqlite":
            _sqlite_transactional_ddl(connectable)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _sqlite_transactional_ddl(engine) -> None:  # type: ignore[no-untyped-def]
    """All migrations in one SQLite transaction, so an interrupted upgrade leaves the file as it
    was: Python's sqlite3 driver runs DDL outside any transaction unless BEGIN is ours to emit.
    IMMEDIATE takes the write lock at once, so two upgrades at once take turns."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        # SQLite rolls DDL back like any statement; Alembic's default for it is a commit per
        # migration, which left half-migrated files behind an interrupted upgrade.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
