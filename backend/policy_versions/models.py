"""Versions of the policy files operations edit in the console: each one a whole file's text, who
proposed it and why, and who decided it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class PolicyVersion(Base):
    """`number` counts a file's versions from 1; 0 is the file as shipped in config/ (no row).
    At most one row per file is `active` (the running one); the one it replaced is `retired`."""

    __tablename__ = "policy_versions"
    __table_args__ = (
        UniqueConstraint("file", "number"),
        # One running version per file, kept by the database: two approvals racing on two
        # replicas cannot both win.
        Index(
            "uq_policy_versions_one_active",
            "file",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)  # the whole YAML file
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    base: Mapped[int] = mapped_column(Integer)  # the file's version running when proposed
    restores: Mapped[int | None] = mapped_column(Integer, default=None)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")
