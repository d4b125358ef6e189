"""The backend's access log carries no link token, chat id or loan reference."""

from __future__ import annotations

import logging

from backend.config import Settings
from backend.main import create_app


def request_line(path: str) -> str:
    """What uvicorn's access logger would print for `path` once the app is built."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    for log_filter in logging.getLogger("uvicorn.access").filters:
        log_filter.filter(record)
    return record.getMessage()


def test_secrets_and_identities_are_masked_in_request_lines(settings: Settings) -> None:
    create_app(settings)
    token = "Xk3v9-Qm2LpZr8TwYb4NcA"
    assert token not in request_line(f"/pay/{token}")
    assert request_line(f"/pay/{token}") == '127.0.0.1:5000 - "GET /pay/… HTTP/1.1" 200'
    chat = request_line("/api/v1/conversations/telegram/900000001/messages?after=5")
    assert chat.split('"')[1] == "GET /api/v1/conversations/telegram/…/messages HTTP/1.1"
    loan = request_line("/api/v1/loans/L-DEMO-03/statement?as_of=2026-04-01")
    assert "L-DEMO-03" not in loan and "as_of" not in loan


def test_building_the_app_twice_keeps_one_filter(settings: Settings) -> None:
    create_app(settings)
    create_app(settings)
    names = [type(f).__name__ for f in logging.getLogger("uvicorn.access").filters]
    assert names.count("MaskedPaths") == 1


def test_a_poll_that_found_nothing_new_is_not_logged(settings: Settings) -> None:
    """Rasa and every action server poll the running model and texts every few seconds."""
    create_app(settings)

    def logged(path: str, status: int) -> bool:
        args = ("127.0.0.1:5000", "GET", path, "1.1", status)
        line = '%s - "%s %s HTTP/%s" %d'
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 0, line, args, None)
        return all(f.filter(record) for f in logging.getLogger("uvicorn.access").filters)

    assert not logged("/api/v1/texts/running", 304)
    assert not logged("/api/v1/nlu/model", 304)
    assert logged("/api/v1/texts/running", 200)  # a new version: worth a line
    assert logged("/api/v1/loans/L1", 304)
