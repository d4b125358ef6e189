"""Money columns are 64-bit: a 32-bit INTEGER ends at 21,474,836.47 in a currency of cents.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every amount in minor units, by table
MONEY_COLUMNS = {
    "products": ("late_fee_minor",),
    "loans": ("principal_minor", "late_fee_minor"),
    "installments": ("principal_minor", "interest_minor"),
    "payments": ("amount_minor",),
    "payment_links": ("amount_minor",),
    "arrangements": ("settles_minor", "fee_minor", "discount_minor"),
    "arrangement_installments": ("amount_minor",),
    "promises": ("amount_minor", "paid_minor"),
    "approval_requests": ("settles_minor", "discount_minor"),
}


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    # PostgreSQL: ALTER COLUMN ... TYPE, in place. SQLite stores every INTEGER in up to 8 bytes
    # already, so nothing changes there but the declared type, which the batch copy of each
    # table rewrites (its CHECK constraints and indexes, partial ones included, come along).
    for table, columns in MONEY_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(
                    column, existing_type=old, type_=new, existing_nullable=False
                )


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    # refused by PostgreSQL while any amount is beyond 32 bits: nothing is cut short
    _retype(sa.BigInteger(), sa.Integer())
