"""Row ids in paths and queries: whole numbers from 1 to the largest id the tables hold (their
ids are INTEGER, 32-bit on PostgreSQL), so a larger number is a 422 and never reaches the
database, which would fail on it (SQLite past 64 bits, PostgreSQL past 32)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ROW_ID = 2**31 - 1

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Query(ge=1, le=MAX_ROW_ID)
