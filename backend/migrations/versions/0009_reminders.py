"""Reminders: one row per loan, outreach step and occasion (never two), planned then sent or dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:45:46.844250
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.String(length=40), nullable=False),
    sa.Column('variant', sa.String(length=40), nullable=False),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('occasion', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decisions', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('outbound_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('planned', 'sent', 'dropped')", name=op.f('ck_reminders_status')),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], name=op.f('fk_reminders_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_reminders_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_reminders_loan_id_loans')),
    sa.ForeignKeyConstraint(['outbound_id'], ['outbound_messages.id'], name=op.f('fk_reminders_outbound_id_outbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('loan_id', 'step_id', 'occasion', name=op.f('uq_reminders_loan_id'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_borrower_sent', ['borrower_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_reminders_due', ['not_before', 'id'], unique=False, sqlite_where=sa.text("status = 'planned'"), postgresql_where=sa.text("status = 'planned'"))



def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_due', sqlite_where=sa.text("status = 'planned'"), postgresql_where=sa.text("status = 'planned'"))
        batch_op.drop_index('ix_reminders_borrower_sent')

    op.drop_table('reminders')
