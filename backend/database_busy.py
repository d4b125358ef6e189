"""A database that cannot answer now is a 503 with Retry-After, never a 500: a lock not granted
within the lock timeout, a statement cut off by the statement timeout (backend/db.py), SQLite's
"database is locked", or the server out of reach. Nothing was written (the request's
transaction rolled back), so the caller may simply try again."""

from __future__ import annotations

import logging

from fastapi import Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2
# PostgreSQL's SQLSTATEs for lock_timeout (lock_not_available) and statement_timeout
# (query_canceled)
_BUSY_STATES = {"55P03", "57014"}


def is_busy(exc: OperationalError) -> bool:
    """Another transaction held what this one needed (as opposed to no database at all)."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state in _BUSY_STATES:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    if is_busy(exc):
        body = {"detail": "the database is busy: try again shortly", "code": "database_busy"}
    else:
        body = {"detail": "the database cannot be reached now", "code": "database_unavailable"}
    # the driver's first line only ("canceling statement due to lock timeout"): no SQL, no values
    log.warning("%s: %s", body["code"], str(exc.orig).splitlines()[0] if str(exc.orig) else "")
    return JSONResponse(
        body,
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
