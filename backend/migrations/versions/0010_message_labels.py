"""Message labels: what operations said a misunderstood borrower message meant.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 07:41:25.341408
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('intent', sa.String(length=100), nullable=False),
    sa.Column('example', sa.Text(), nullable=False),
    sa.Column('labelled_by', sa.String(length=100), nullable=False),
    sa.Column('labelled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_labels_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_labels')),
    sa.UniqueConstraint('message_id', name=op.f('uq_message_labels_message_id'))
    )


def downgrade() -> None:
    op.drop_table('message_labels')
