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
