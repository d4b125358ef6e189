"""Reaching borrowers by SMS: the channel each reminder went on and the rule that chose it, an
SMS's segments, and the receipts a channel sends back (delivered, read).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch copy would risk the tables' partial indexes on SQLite
    op.add_column("reminders", sa.Column("channel", sa.String(length=16), nullable=True))
    op.add_column("reminders", sa.Column("channel_rule", sa.String(length=16), nullable=True))
    op.add_column("outbound_messages", sa.Column("segments", sa.Integer(), nullable=True))
    op.add_column("outbound_messages", sa.Column("receipt", sa.String(length=16), nullable=True))
    op.add_column(
        "outbound_messages", sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_outbound_messages_channel_message_id", "outbound_messages", ["channel_message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_messages_channel_message_id", table_name="outbound_messages")
    for column in ("receipt_at", "receipt", "segments"):
        op.drop_column("outbound_messages", column)
    op.drop_column("reminders", "channel_rule")
    op.drop_column("reminders", "channel")
