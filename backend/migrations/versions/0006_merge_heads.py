"""Join the promises, cases and plans branches into one head.

Revision ID: 0006
Revises: 0003, 0004, 0005
Create Date: 2026-11-29 01:18:33.253349
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = ('0003', '0004', '0005')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
