"""A database that cannot answer now is a 503 with Retry-After, never a 500 (the answer to a
real lock timeout on PostgreSQL: tests/backend/integration/test_database_contention.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from backend.database_busy import database_unavailable, is_busy
from backend.db import postgres_connect_args


def wrapped(orig: Exception) -> OperationalError:
    return OperationalError("INSERT INTO payments ...", {}, orig)


@pytest.mark.parametrize(
    ("orig", "code"),
    [
        (
            psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
            "database_busy",
        ),
        (
            psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
            "database_busy",
        ),
        (sqlite3.OperationalError("database is locked"), "database_busy"),
        (psycopg.errors.OperationalError("connection refused"), "database_unavailable"),
    ],
)
def test_answers_503_with_retry_after(orig: Exception, code: str) -> None:
    assert is_busy(wrapped(orig)) is (code == "database_busy")
    response = asyncio.run(database_unavailable(None, wrapped(orig)))  # type: ignore[arg-type]
    assert (response.status_code, response.headers["retry-after"]) == (503, "2")
    assert json.loads(bytes(response.body))["code"] == code


def test_postgres_connections_get_the_timeouts_before_the_urls_own_options() -> None:
    url = "postgresql+psycopg://u@db/lender?options=-csearch_path%3Dx%20-c%20lock_timeout%3D9s"
    assert postgres_connect_args(url) == {
        "options": "-c lock_timeout=5s -c statement_timeout=120s -csearch_path=x -c lock_timeout=9s"
    }
    assert postgres_connect_args("sqlite:///var/backend.db") == {}
