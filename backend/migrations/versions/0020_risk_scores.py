"""Risk and propensity scores: the trained versions (numbers, metrics, model card, which is in
use) and each open loan's scores on a snapshot day.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("trained_from", sa.Date(), nullable=False),
        sa.Column("trained_to", sa.Date(), nullable=False),
        sa.Column("tested_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_models")),
        sa.UniqueConstraint("kind", "version", name=op.f("uq_risk_models_kind")),
    )
    op.create_table(
        "loan_scores",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("roll_30", sa.Float(), nullable=True),
        sa.Column("pay_7", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("roll_version", sa.Integer(), nullable=True),
        sa.Column("pay_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("as_of", "loan_id", name=op.f("pk_loan_scores")),
    )
    op.create_index(op.f("ix_loan_scores_loan_id"), "loan_scores", ["loan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_loan_scores_loan_id"), table_name="loan_scores")
    op.drop_table("loan_scores")
    op.drop_table("risk_models")
