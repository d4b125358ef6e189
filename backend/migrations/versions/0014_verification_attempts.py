"""Failed phone verifications and the locks they start, counted across chats and channels.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_verification_failures_borrower_id_borrowers"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_verification_failures_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_failures")),
    )
    op.create_index(
        op.f("ix_verification_failures_at"), "verification_failures", ["at"], unique=False
    )
    op.create_index(
        "ix_verification_failures_phone_key_at",
        "verification_failures",
        ["phone_key", "at"],
        unique=False,
    )
    op.create_index(
        "ix_verification_failures_borrower_id_at",
        "verification_failures",
        ["borrower_id", "at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_verification_failures_conversation_id"),
        "verification_failures",
        ["conversation_id"],
        unique=False,
    )
    op.create_table(
        "verification_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=True),
        sa.Column("borrower_id", sa.Integer(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "scope IN ('phone', 'borrower')", name=op.f("ck_verification_locks_scope")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_verification_locks_borrower_id_borrowers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_locks")),
    )
    op.create_index(
        "ix_verification_locks_phone_key", "verification_locks", ["phone_key"], unique=False
    )
    op.create_index(
        op.f("ix_verification_locks_borrower_id"),
        "verification_locks",
        ["borrower_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("verification_locks")
    op.drop_table("verification_failures")
