"""Reaching borrowers on WhatsApp: an outbox message may go as an approved template (its name,
language and parameters), the only kind WhatsApp carries outside its 24-hour window.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbound_messages", sa.Column("template", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbound_messages", "template")
