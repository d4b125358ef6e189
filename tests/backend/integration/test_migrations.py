"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from backend.models import Base


def test_migrated_schema_matches_the_models(db: Session) -> None:
    context = MigrationContext.configure(db.connection(), opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []
