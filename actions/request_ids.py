"""The request id of the borrower message an action answers: the gateway puts it in the
message's metadata (`request_id`, bot/request_ids.py) and the backend client sends it on as
`X-Request-ID`, so the backend's log lines for this message carry the gateway's id."""

from __future__ import annotations

import re
from typing import Any

HEADER = "X-Request-ID"
METADATA_KEY = "request_id"
_WELL_FORMED = re.compile(r"[A-Za-z0-9-]{16,64}")  # as the gateway and the backend accept it


def of(tracker: Any) -> str | None:
    """The id in the latest message's metadata; None when there is none or it is malformed."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and _WELL_FORMED.fullmatch(value) else None


ONCE_HEADER = "Idempotency-Key"
TURN_KEY = "turn"  # the gateway's id for the borrower message, the same when it sends it again
_TURN = re.compile(r"[A-Za-z0-9:_-]{1,100}")


def once_key(
    latest_message: dict[str, Any], events: list[dict[str, Any]], action: str
) -> str | None:
    """What this run of `action` keys its writes with (backend/idempotency.py): the borrower
    message's turn id, the action, and how often it ran already in this turn. The same when a
    turn is run again (nlu/turns.py; the failed one was not saved), so a write the first run
    made is answered, not made again; another run of the action in the same turn differs."""
    metadata = latest_message.get("metadata") or {}
    turn = metadata.get(TURN_KEY) if isinstance(metadata, dict) else None
    if not (isinstance(turn, str) and _TURN.fullmatch(turn)):
        return None  # Rasa's own HTTP API, a shell: no gateway, no key
    ran = 0
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") == action:
            ran += 1
    return f"{turn}/{action}.{ran}"
