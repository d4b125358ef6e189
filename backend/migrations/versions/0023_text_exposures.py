"""Which wording of a text under experiment each borrower was said.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=True),
        sa.Column("said_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_text_exposures_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_text_exposures_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_exposures")),
    )
    op.create_index(
        op.f("ix_text_exposures_conversation_id"), "text_exposures", ["conversation_id"]
    )
    op.create_index("ix_text_exposures_key_version", "text_exposures", ["key", "version"])


def downgrade() -> None:
    op.drop_index("ix_text_exposures_key_version", table_name="text_exposures")
    op.drop_index(op.f("ix_text_exposures_conversation_id"), table_name="text_exposures")
    op.drop_table("text_exposures")
