"""Early warning: the loans each day's run flagged, with the signals that fired.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 23:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loan_warnings",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("top", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_loan_warnings_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_warnings_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("as_of", "loan_id", name=op.f("pk_loan_warnings")),
    )
    op.create_index(op.f("ix_loan_warnings_loan_id"), "loan_warnings", ["loan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_loan_warnings_loan_id"), table_name="loan_warnings")
    op.drop_table("loan_warnings")
