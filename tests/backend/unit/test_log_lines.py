"""The log lines of the backend and of the gateway (twin modules: backend/monitoring/logs.py,
bot/logs.py): one JSON object a line with the request id, only the fields named, plain text for
development."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from backend.db import make_engine
from backend.monitoring import logs as backend_logs
from backend.monitoring import request_ids as backend_ids
from bot import logs as gateway_logs
from bot import request_ids as gateway_ids
from tests.backend.logging_state import kept_logging

TWINS = [
    pytest.param(backend_logs, backend_ids, id="backend"),
    pytest.param(gateway_logs, gateway_ids, id="gateway"),
]


def record(message: str = "turn: %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("bot.relay", logging.INFO, __file__, 1, message, args or None, None)
    made.__dict__.update(extra)
    return made


def as_json(logs: ModuleType, made: logging.LogRecord) -> dict[str, object]:
    logs.RequestIdFilter().filter(made)
    line = logs.JsonFormatter().format(made)
    assert "\n" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


@pytest.mark.parametrize(("logs", "ids"), TWINS)
class TestJsonLines:
    def test_one_object_with_time_level_logger_message_and_request_id(
        self, logs: ModuleType, ids: ModuleType
    ) -> None:
        ids.bind("0123456789abcdef0123456789abcdef")
        try:
            line = as_json(logs, record("webchat message: %s", "answered"))
        finally:
            ids.bind(None)
        assert line["level"] == "INFO" and line["logger"] == "bot.relay"
        assert line["message"] == "webchat message: answered"
        assert line["request_id"] == "0123456789abcdef0123456789abcdef"
        assert str(line["time"]).endswith("+00:00")

    def test_without_a_request_id_it_is_null(self, logs: ModuleType, ids: ModuleType) -> None:
        assert as_json(logs, record("started"))["request_id"] is None

    def test_only_the_named_fields_get_through(self, logs: ModuleType, ids: ModuleType) -> None:
        line = as_json(
            logs,
            record(
                "GET /x 200",
                method="GET",
                route="/x",
                status=200,
                duration_ms=1.5,
                phone="+8613800138000",
                text="我想还款",
            ),
        )
        assert {k: line[k] for k in ("method", "route", "status", "duration_ms")} == {
            "method": "GET",
            "route": "/x",
            "status": 200,
            "duration_ms": 1.5,
        }
        assert "phone" not in line and "text" not in line

    def test_an_exception_stays_in_its_line(self, logs: ModuleType, ids: ModuleType) -> None:
        try:
            raise RuntimeError("broken")
        except RuntimeError:
            made = record("failed")
            made.exc_info = sys.exc_info()
        line = as_json(logs, made)
        assert "RuntimeError: broken" in str(line["exception"])

    def test_chinese_stays_readable(self, logs: ModuleType, ids: ModuleType) -> None:
        made = record("模型已就绪")
        logs.RequestIdFilter().filter(made)
        assert "模型已就绪" in logs.JsonFormatter().format(made)


@pytest.mark.parametrize(("logs", "ids"), TWINS)
class TestConfigure:
    def test_json_takes_every_line_uvicorns_included(
        self, logs: ModuleType, ids: ModuleType
    ) -> None:
        stream = io.StringIO()
        with kept_logging():
            logs.configure(as_json=True, stream=stream)
            logs.configure(as_json=True, stream=stream)  # again: still one handler
            logging.getLogger("uvicorn.error").info("Application startup complete.")
            logging.getLogger("uvicorn.access").info("a request line uvicorn would write")
            logging.getLogger("httpx").info("HTTP Request: POST http://b/conversations/telegram/42")
            logging.getLogger("backend.outreach").info("planned %d new reminders", 3)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [(line["logger"], line["message"]) for line in lines] == [
            ("uvicorn.error", "Application startup complete."),
            ("backend.outreach", "planned 3 new reminders"),
        ]

    def test_text_is_plain_with_the_request_id_at_the_end(
        self, logs: ModuleType, ids: ModuleType
    ) -> None:
        stream = io.StringIO()
        with kept_logging():
            logs.configure(
                as_json=False, text_format="%(levelname)s %(name)s: %(message)s", stream=stream
            )
            logging.getLogger("bot.relay").info("started")
            ids.bind("0123456789abcdef0123456789abcdef")
            try:
                logging.getLogger("bot.relay").info("webchat message: answered")
            finally:
                ids.bind(None)
        assert stream.getvalue().splitlines() == [
            "INFO bot.relay: started",
            "INFO bot.relay: webchat message: answered [0123456789abcdef0123456789abcdef]",
        ]

    def test_text_without_a_format_leaves_logging_as_it_is(
        self, logs: ModuleType, ids: ModuleType
    ) -> None:
        with kept_logging():
            before = list(logging.getLogger().handlers)
            logs.configure(as_json=False)
            assert logging.getLogger().handlers == before


@pytest.mark.parametrize(
    ("log_format", "app_env", "json_lines"),
    [
        (None, "production", True),
        (None, "development", False),
        (None, "test", False),
        ("text", "production", False),
        ("json", "development", True),
    ],
)
def test_json_by_default_in_production_only(
    log_format: str | None, app_env: str, json_lines: bool
) -> None:
    from bot.config import GatewaySettings

    assert backend_logs.wants_json(log_format, app_env) is json_lines
    settings = GatewaySettings(app_env="test", log_format=log_format)
    assert settings.logs_as_json is (log_format == "json")
    assert backend_logs.wants_json(settings.log_format, "test") is settings.logs_as_json


@pytest.mark.parametrize("ids", [backend_ids, gateway_ids])
def test_request_ids_are_random_and_only_well_formed_ones_are_taken(ids: ModuleType) -> None:
    made = {ids.new() for _ in range(100)}
    assert len(made) == 100 and all(ids.well_formed(i) == i for i in made)
    assert ids.well_formed("b1f0e8a4-1c2d-4e5f-8a9b-0c1d2e3f4a5b")  # a UUID
    for bad in (None, "", "13800138000", "+8613800138000", "x" * 65, "abc def ghi jkl mno"):
        assert ids.well_formed(bad) is None


def test_a_database_errors_text_shows_no_values(tmp_path: Path) -> None:
    """A traceback in the logs quotes the error: the SQL, never a phone number bound into it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("SELECT * FROM nowhere WHERE phone = :p"), {"p": "+8613800138000"})
    engine.dispose()
    assert "nowhere" in str(caught.value) and "13800138000" not in str(caught.value)
