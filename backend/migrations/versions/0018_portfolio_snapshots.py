"""Daily portfolio snapshots: every loan's position at each business day's close, the runs
that took them, and the open installments the next day steps forward from. Payments get
indexes on the day they count from and the moment they were entered, which the day step
looks up.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portfolio_snapshots",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fees_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("overdue_minor", sa.BigInteger(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("future_principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_month_minor", sa.BigInteger(), nullable=False),
        sa.Column("arrangement", sa.String(length=16), nullable=True),
        sa.Column("promise_open", sa.Boolean(), nullable=False),
        sa.Column("last_reply_on", sa.Date(), nullable=True),
        sa.Column("last_contact_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("as_of", "loan_id", name=op.f("pk_portfolio_snapshots")),
    )
    op.create_table(
        "snapshot_items",
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("charge_on", sa.Date(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_base", sa.Numeric(), nullable=False),
        sa.Column("base_on", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_snapshot_items_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", "seq", name=op.f("pk_snapshot_items")),
    )
    op.create_table(
        "snapshot_runs",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Integer(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("holds_state", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_snapshot_runs")),
    )
    op.create_index(op.f("ix_payments_received_on"), "payments", ["received_on"], unique=False)
    op.create_index(op.f("ix_payments_created_at"), "payments", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_created_at"), table_name="payments")
    op.drop_index(op.f("ix_payments_received_on"), table_name="payments")
    op.drop_table("snapshot_runs")
    op.drop_table("snapshot_items")
    op.drop_table("portfolio_snapshots")
