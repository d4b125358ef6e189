"""Reminders remember the first rule that held them back, also once sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch copy of the table would risk its partial index on SQLite
    op.add_column("reminders", sa.Column("held_by", sa.String(length=24), nullable=True))
    # what is on record: a dropped or still-deferred reminder's reason, when a rule gave it
    op.execute(
        "UPDATE reminders SET held_by = reason"
        " WHERE reason IS NOT NULL AND reason NOT IN ('no_longer_due', 'no_chat')"
    )


def downgrade() -> None:
    op.drop_column("reminders", "held_by")
