"""Log lines. With LOG_FORMAT=json (the default with APP_ENV=production): one JSON object a line,
with time, level, logger, message and request_id; an access line adds method, route, status and
duration_ms, the gateway's line for a borrower message channel, outcome, replies and
duration_ms. Otherwise plain text, as development reads it.

What a line carries is fixed here: the message the code wrote (which names kinds and counts,
never a borrower's words, phone number, name or chat id) and the fields in FIELDS. Any other
`extra=` is left out, so nothing reaches the logs by accident. backend/monitoring/logs.py is
this file's twin (the backend's and the gateway's images share no code).

The serving gateway writes the lines of a tenth of a second in one write (`together=True`):
written one at a time, its two lines a borrower message took a fifth of its busy time under
load, and `make run`'s process manager, which prints them, as much again (bench/RESULTS.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import IO

from bot import request_ids

FIELDS = ("method", "route", "status", "duration_ms", "channel", "outcome", "replies")
HANDLER_NAME = "bot.logs"
# Their INFO lines carry whole addresses (chat ids, tokens in query strings).
QUIET = ("httpx", "httpcore")
TOGETHER_SECONDS = 0.1  # how long a line may wait for the others of its moment


def wants_json(log_format: str | None, app_env: str) -> bool:
    """LOG_FORMAT when set; else JSON in production (a log collector reads it), text elsewhere."""
    return log_format == "json" if log_format else app_env == "production"


class RequestIdFilter(logging.Filter):
    """On the handler: every line through it, the libraries' too, gets the request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_ids.current()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines, ending with the request id in brackets when there is one."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


class LinesTogether(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes the lines of a moment in one write: a line logged on an
    event loop waits up to `seconds` for the others; a warning or worse is written at once (with
    those before it), as is a line logged outside an event loop, and what waits is written when
    the process exits (logging's shutdown flushes every handler). A process killed outright
    loses at most the last `seconds` of its informational lines."""

    def __init__(self, stream: IO[str] | None = None, seconds: float = TOGETHER_SECONDS) -> None:
        super().__init__(stream)
        self.seconds = seconds
        self._waiting: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # whose timer writes them

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._waiting.append(self.format(record) + self.terminator)
        except Exception:  # as StreamHandler: a line that cannot be made is reported, not raised
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or not self._written_later():
            try:
                self.flush()
            except Exception:
                self.handleError(record)

    def _written_later(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False  # a worker thread, or start-up: no loop to write them later
        if self._loop is not loop:  # none yet, or one that has gone (a new loop in tests)
            self._loop = loop
            loop.call_later(self.seconds, self._timed_out)
        return True

    def _timed_out(self) -> None:
        self.acquire()
        try:
            self._loop = None
            self.flush()
        except Exception:  # nowhere to write (a closed pipe): nothing to tell it on either
            self._waiting.clear()
        finally:
            self.release()

    def flush(self) -> None:
        self.acquire()  # reentrant: emit holds it already
        try:
            waiting, self._waiting = self._waiting, []
            if waiting:
                self.stream.write("".join(waiting))
            super().flush()
        finally:
            self.release()


def configure(
    *,
    as_json: bool,
    text_format: str | None = None,
    stream: IO[str] | None = None,
    together: bool = False,
) -> None:
    """Set up this process's log lines; calling it again replaces what it set up.

    JSON: one handler on the root logger takes every line, uvicorn's included, and uvicorn's
    access log gives way to the backend's own (route templates, not paths: no ids in it).
    Text with a format: one plain handler on the root logger. Text without one: logging is left
    as the process has it (uvicorn's own readable lines in development). `together`: the lines
    of a moment in one write (LinesTogether)."""
    if not as_json and text_format is None:
        return
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    handler = LinesTogether(stream) if together else logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter(text_format))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    if as_json:
        for name in ("uvicorn", "uvicorn.error"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
        logging.getLogger("uvicorn.access").disabled = True
