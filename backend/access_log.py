"""Request lines without secrets or identities: uvicorn's access log shows each path with every
segment that is not a plain lowercase word (the app's own route words: `api`, `loans`, `pay`,
`telegram`) replaced by `…`, and no query string.

A payment link's token (`/pay/<token>`), a chat's id (`/conversations/telegram/<id>`) or a loan
reference would otherwise sit in plain text in every log collector the lender runs. Identifiers
here all carry digits or capitals; a route word never does."""

from __future__ import annotations

import logging
import re

MASK = "…"
_WORD = re.compile(r"[a-z][a-z._-]*|v\d")  # v1: the API's version


def masked_path(full_path: str) -> str:
    path = full_path.split("?", 1)[0]
    return "/".join(s if not s or _WORD.fullmatch(s) else MASK for s in path.split("/"))


# Polled every few seconds by every Rasa and action server replica: an answer that nothing
# changed (304) is not worth a line each time.
QUIET_POLLS = frozenset({"/api/v1/texts/running", "/api/v1/nlu/model"})


class MaskedPaths(logging.Filter):
    """For the `uvicorn.access` logger, whose record args are
    (client, method, path with query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            if len(args) >= 5 and args[4] == 304 and path in QUIET_POLLS:
                return False
            record.args = (*args[:2], masked_path(args[2]), *args[3:])
        return True


def install() -> None:
    """Once per process (an app factory may run more than once, in tests)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskedPaths) for f in logger.filters):
        logger.addFilter(MaskedPaths())
