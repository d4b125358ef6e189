"""Versions of what the assistant says (operations' overrides of the shipped texts).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_versions",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("restores", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_text_versions")),
    )
    op.create_index(op.f("ix_text_versions_status"), "text_versions", ["status"], unique=False)
    op.create_index(
        "uq_text_versions_one_active",
        "text_versions",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("uq_text_versions_one_active", table_name="text_versions")
    op.drop_index(op.f("ix_text_versions_status"), table_name="text_versions")
    op.drop_table("text_versions")
