"""The request id: one per borrower message (the gateway makes it) or API call, carried from
the gateway through Rasa's message metadata and the action server to the backend as
`X-Request-ID`, so the log lines of one message can be found in every process. It is random
and says nothing about the borrower."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# A UUID, nginx's $request_id (32 hex digits) or the gateway's own; anything else a caller
# sends is replaced, not logged (in production nginx overwrites the client's header).
_WELL_FORMED = re.compile(r"[A-Za-z0-9-]{16,64}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new() -> str:
    return uuid.uuid4().hex


def well_formed(value: str | None) -> str | None:
    return value if value is not None and _WELL_FORMED.fullmatch(value) else None


def current() -> str | None:
    return _current.get()


def bind(value: str | None) -> None:
    """The id of what this task does now. Each request runs in a task of its own (uvicorn), so
    the id never outlives its request, and uvicorn's line for a crash still carries it."""
    _current.set(value)
