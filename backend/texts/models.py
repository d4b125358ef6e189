"""Versions of what the assistant says: each one all the overrides of the shipped texts in force
once it runs, who proposed it and why, and who decided it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow

STATUSES = ("proposed", "active", "retired", "rejected")


class TextVersion(Base):
    """`number` counts versions from 1; 0 is the shipped texts, which have no row. At most one
    row is `active` (the running one); the one it replaced is `retired`."""

    __tablename__ = "text_versions"
    __table_args__ = (
        # At most one running version, kept by the database: two approvals racing on two
        # replicas cannot both win.
        Index(
            "uq_text_versions_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)  # section -> key -> language -> text
    status: Mapped[str] = mapped_column(String(16), index=True)
    note: Mapped[str] = mapped_column(Text)
    base: Mapped[int] = mapped_column(Integer)  # the version running when it was proposed
    restores: Mapped[int | None] = mapped_column(Integer, default=None)  # a rollback to this one
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class TextExposure(Base):
    """A borrower was said one wording of a text under experiment: which, in which version,
    when, in which chat (the action server reports it; results count what followed)."""

    __tablename__ = "text_exposures"
    __table_args__ = (Index("ix_text_exposures_key_version", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(16))  # champion | challenger
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"), default=None)
    said_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
