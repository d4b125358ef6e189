"""GET /metrics on the backend: only with METRICS_TOKEN, route templates and never an id in its
labels, figures from the database that do not fail the scrape when the database is down; and
the request id every response carries and the JSON access line logs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session
from starlette.routing import Match

from backend.config import Settings
from backend.main import create_app
from backend.monitoring import logs, observe
from bot.config import GatewaySettings
from tests.backend.api.conftest import TODAY, TOKEN
from tests.backend.apps import app_over
from tests.backend.logging_state import kept_logging

METRICS_TOKEN = "metrics-token-for-tests"
CHAT = "/api/v1/conversations/telegram/900000001"


def metrics_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "service_token": TOKEN,
        "business_date": TODAY,
        "metrics_token": METRICS_TOKEN,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def client(db: Session, tmp_path: Path) -> Iterator[TestClient]:
    app = app_over(db, metrics_settings(tmp_path))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def scrape(client: TestClient) -> str:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


class TestTheToken:
    def test_without_the_metrics_token_there_is_nothing(self, client: TestClient) -> None:
        assert client.get("/metrics").status_code == 401  # the service token is not it
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"

    def test_no_metrics_token_configured_means_no_metrics(
        self, db: Session, tmp_path: Path
    ) -> None:
        app = app_over(db, metrics_settings(tmp_path, metrics_token=None))
        with TestClient(app) as c:
            r = c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert r.status_code == 404

    def test_a_short_metrics_token_is_refused_at_start(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="metrics_token"):
            metrics_settings(tmp_path, metrics_token="short")

    def test_an_empty_one_is_none(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # docker-compose.yml passes ${METRICS_TOKEN:-}: empty when the deployment has none.
        monkeypatch.setenv("METRICS_TOKEN", "")
        assert Settings(app_env="test").metrics_token is None
        assert GatewaySettings(app_env="test").metrics_token is None

    def test_metrics_are_not_in_the_api_document(self, client: TestClient) -> None:
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


class TestRequests:
    def test_counted_by_route_template_never_by_path(self, client: TestClient) -> None:
        client.put(CHAT, json={})
        client.get(f"{CHAT}/loans")  # 403: not verified
        text = scrape(client)
        assert (
            'backend_http_requests_total{method="PUT",route="/api/v1/conversations/{channel}/'
            '{user_id}",status="200"}' in text
        )
        assert 'route="/api/v1/conversations/{channel}/{user_id}/loans",status="403"' in text
        assert "backend_http_request_duration_seconds_bucket" in text
        assert "900000001" not in text

    def test_a_route_included_last_is_counted_by_its_template_too(self, client: TestClient) -> None:
        client.get("/console/handoffs/123456789")  # the console's, after every API router
        assert 'route="/console/handoffs/{handoff_id}",status="303"' in scrape(client)

    def test_a_request_asks_for_the_routes_up_to_the_one_it_took_only(
        self, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Asking FastAPI for every route's context built every route's dependencies: a
        fifth of a second of the first request of each process, and of each test's app."""
        asked: list[object] = []

        def counted(routes: list[object]) -> Iterator[object]:
            asked.extend(routes)
            return iter_route_contexts(routes)  # type: ignore[arg-type]

        monkeypatch.setattr(observe, "iter_route_contexts", counted)
        client.put(CHAT, json={})
        routes = client.app.router.routes  # type: ignore[attr-defined]
        taken = next(
            i
            for i, r in enumerate(routes)
            if r.matches({"type": "http", "method": "PUT", "path": CHAT, "root_path": ""})[0]
            is Match.FULL
        )
        assert asked and all(routes.index(r) <= taken for r in asked)
        assert len(routes) > taken + 10  # the console's and the rest were left alone
        assert 'route="/api/v1/conversations/{channel}/{user_id}",status="200"' in scrape(client)

    def test_a_path_no_route_matches_is_unmatched(self, client: TestClient) -> None:
        client.get("/pay/Secret-Link-Token-123/nowhere")
        text = scrape(client)
        assert 'route="unmatched",status="404"' in text
        assert "Secret-Link-Token" not in text

    def test_server_errors_are_counted_apart(self, db: Session, tmp_path: Path) -> None:
        app = app_over(db, metrics_settings(tmp_path))

        @app.get("/boom")
        def boom() -> None:
            raise RuntimeError("bug")

        before = REGISTRY.get_sample_value(
            "backend_http_server_errors_total", {"method": "GET", "route": "/boom", "status": "500"}
        )
        with TestClient(app, raise_server_exceptions=False) as c:
            assert c.get("/boom").status_code == 500
        after = REGISTRY.get_sample_value(
            "backend_http_server_errors_total", {"method": "GET", "route": "/boom", "status": "500"}
        )
        assert (after or 0) - (before or 0) == 1

    def test_verification_attempts_by_method_and_outcome(self, client: TestClient) -> None:
        labels = {"method": "link_token", "outcome": "failed"}
        before = REGISTRY.get_sample_value("backend_verifications_total", labels) or 0
        r = client.post(f"{CHAT}/verify/link-token", json={"token": "not-a-token"})
        assert r.json()["status"] == "failed"
        assert REGISTRY.get_sample_value("backend_verifications_total", labels) == before + 1


class TestDatabaseFigures:
    def test_read_from_the_database_at_scrape_time(self, client: TestClient) -> None:
        text = scrape(client)
        for name in (
            "backend_database_figures_up 1.0",
            'backend_outbox_pending_messages{channel="telegram"}',
            'backend_outbox_oldest_pending_seconds{channel="webchat"}',
            "backend_reminders_due ",
            "backend_reminders_oldest_due_seconds ",
            'backend_reminders_today{state="sent"}',
            'backend_verification_locks{scope="chat"}',
            "backend_verification_failures_last_hour ",
            "process_cpu_seconds_total",  # Python's process figures come with them
        ):
            assert name in text, name

    def test_a_database_that_is_down_leaves_them_out_but_answers(self, tmp_path: Path) -> None:
        # Nothing listens on port 1: every connection is refused at once.
        down = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"
        app = create_app(metrics_settings(tmp_path, database_url=down))
        with TestClient(app) as c:
            text = scrape(c)
        assert "backend_database_figures_up 0.0" in text
        assert "backend_outbox_pending_messages" not in text
        assert "backend_http_requests_total" in text


class TestRequestIds:
    def test_every_response_carries_one(self, client: TestClient) -> None:
        r = client.get("/healthz")
        assert len(r.headers["x-request-id"]) == 32

    def test_a_well_formed_one_is_kept_and_anything_else_replaced(self, client: TestClient) -> None:
        given = "3f2b8c1d9e7a4b6c8d0e1f2a3b4c5d6e"
        assert (
            client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"] == given
        )
        for bad in ("13800138000", "x" * 65, "a b c d e f g h i j k l", "+8613800138000;abcdef"):
            echoed = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
            assert echoed != bad

    def test_the_json_access_line_has_the_id_and_the_template(self, client: TestClient) -> None:
        stream = io.StringIO()
        given = "0123456789abcdef0123456789abcdef"
        with kept_logging():
            logs.configure(as_json=True, stream=stream)
            r = client.get(f"{CHAT}/loans?as_of=2026-04-01", headers={"X-Request-ID": given})
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        (access,) = [line for line in lines if line["logger"] == "backend.access"]
        assert access["request_id"] == given == r.headers["x-request-id"]
        assert access["method"] == "GET" and access["status"] == r.status_code
        assert access["route"] == "/api/v1/conversations/{channel}/{user_id}/loans"
        assert isinstance(access["duration_ms"], float)
        assert set(access) == {
            "time", "level", "logger", "message", "request_id",
            "method", "route", "status", "duration_ms",
        }  # fmt: skip
        assert "900000001" not in stream.getvalue() and "as_of" not in stream.getvalue()

    def test_polling_and_scrapes_write_no_access_line_unless_they_fail(
        self, client: TestClient
    ) -> None:
        stream = io.StringIO()
        with kept_logging():
            logs.configure(as_json=True, stream=stream)
            client.get("/healthz")
            scrape(client)
            client.get("/metrics")  # 401: written
            texts = client.get("/api/v1/texts/running")  # 200: written
            unchanged = {"If-None-Match": texts.headers["ETag"]}
            assert client.get("/api/v1/texts/running", headers=unchanged).status_code == 304
        routes = [json.loads(line)["route"] for line in stream.getvalue().splitlines()]
        assert routes == ["/metrics", "/api/v1/texts/running"]
