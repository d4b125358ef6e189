"""Compliance: the jurisdiction on a loan's contract, the profile and jurisdiction each reminder
was decided under, every decision with the rules it was checked against, and the borrowers'
own contact preferences.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("loans", sa.Column("jurisdiction", sa.String(length=2), nullable=True))
    # plain ADD COLUMNs: a batch copy of reminders would risk its partial index on SQLite
    op.add_column("reminders", sa.Column("profile", sa.String(length=24), nullable=True))
    op.add_column("reminders", sa.Column("jurisdiction", sa.String(length=2), nullable=True))
    op.add_column(
        "reminders", sa.Column("jurisdiction_source", sa.String(length=8), nullable=True)
    )
    op.create_table(
        "reminder_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", UTC_DATETIME, nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("not_before", UTC_DATETIME, nullable=True),
        sa.Column("profile", sa.String(length=24), nullable=True),
        sa.Column("jurisdiction", sa.String(length=2), nullable=True),
        sa.Column("jurisdiction_source", sa.String(length=8), nullable=True),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reminder_id"], ["reminders.id"], name=op.f("fk_reminder_decisions_reminder_id_reminders")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_reminder_decisions_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_decisions")),
    )
    op.create_index("ix_reminder_decisions_at", "reminder_decisions", ["decided_at"])
    op.create_index(
        "ix_reminder_decisions_borrower", "reminder_decisions", ["borrower_id", "decided_at"]
    )
    op.create_index(
        op.f("ix_reminder_decisions_reminder_id"), "reminder_decisions", ["reminder_id"]
    )
    op.create_table(
        "contact_preferences",
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=True),
        sa.Column("window_end", sa.Time(), nullable=True),
        sa.Column("days", sa.String(length=27), nullable=True),
        sa.Column("said", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_contact_preferences_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_contact_preferences")),
    )


def downgrade() -> None:
    op.drop_table("contact_preferences")
    op.drop_index(op.f("ix_reminder_decisions_reminder_id"), table_name="reminder_decisions")
    op.drop_index("ix_reminder_decisions_borrower", table_name="reminder_decisions")
    op.drop_index("ix_reminder_decisions_at", table_name="reminder_decisions")
    op.drop_table("reminder_decisions")
    op.drop_column("reminders", "jurisdiction_source")
    op.drop_column("reminders", "jurisdiction")
    op.drop_column("reminders", "profile")
    op.drop_column("loans", "jurisdiction")
