"""The request id: one per borrower message, made here (or taken from a well-formed
`X-Request-ID` that nginx set on a web chat call), logged with every line about the message,
sent to Rasa in the message's metadata (`request_id`: the action server sends it on to the
backend) and to the backend as `X-Request-ID`. Random: it says nothing about the borrower.
backend/monitoring/request_ids.py is its twin (the images share no code)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "X-Request-ID"
METADATA_KEY = "request_id"  # in the Rasa message metadata (actions/request_ids.py reads it)
# A UUID, nginx's $request_id (32 hex digits) or our own; anything else a caller sends is
# replaced, not logged (in production nginx overwrites the client's header).
_WELL_FORMED = re.compile(r"[A-Za-z0-9-]{16,64}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new() -> str:
    return uuid.uuid4().hex


def well_formed(value: str | None) -> str | None:
    return value if value is not None and _WELL_FORMED.fullmatch(value) else None


def current() -> str | None:
    return _current.get()


def bind(value: str | None) -> None:
    """For an HTTP request: it runs in a task of its own (uvicorn), so the id ends with it."""
    _current.set(value)


@contextmanager
def scope(value: str | None = None) -> Iterator[str]:
    """The id of what runs inside: `value`, else the one already bound (the web chat call
    the message came in), else a new one; the id before it is back afterwards (Telegram's
    updates may run one after another in one task)."""
    request_id = value or _current.get() or new()
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)
