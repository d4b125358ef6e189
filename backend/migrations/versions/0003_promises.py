"""Promises to pay and the escalations broken ones raise.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:09:54.545668
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('promises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('paid_minor', sa.Integer(), nullable=False),
    sa.Column('evaluated_on', sa.Date(), nullable=True),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=True),
    sa.CheckConstraint("source IN ('bot', 'collector')", name=op.f('ck_promises_source')),
    sa.CheckConstraint("status IN ('open', 'kept', 'partly_kept', 'broken')", name=op.f('ck_promises_status')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_promises_amount_positive')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_promises_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_promises_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promises'))
    )
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promises_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('uq_promises_one_open_per_loan', ['loan_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('promise_escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('promise_id', sa.Integer(), nullable=False),
    sa.Column('broken_in_a_row', sa.Integer(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cleared_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_promise_escalations_loan_id_loans')),
    sa.ForeignKeyConstraint(['promise_id'], ['promises.id'], name=op.f('fk_promise_escalations_promise_id_promises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promise_escalations'))
    )
    with op.batch_alter_table('promise_escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promise_escalations_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('uq_promise_escalations_one_open_per_loan', ['loan_id'], unique=True, sqlite_where=sa.text('cleared_at IS NULL'), postgresql_where=sa.text('cleared_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('promise_escalations', schema=None) as batch_op:
        batch_op.drop_index('uq_promise_escalations_one_open_per_loan', sqlite_where=sa.text('cleared_at IS NULL'), postgresql_where=sa.text('cleared_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_promise_escalations_loan_id'))

    op.drop_table('promise_escalations')
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_index('uq_promises_one_open_per_loan', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_promises_loan_id'))

    op.drop_table('promises')
