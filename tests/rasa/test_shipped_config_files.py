"""Every Rasa endpoints and credentials file the project ships, read by Rasa's own reader with
a test environment: no `${VAR}` may reach Rasa unsubstituted. Rasa substitutes variables only
in plain YAML scalars, so a quoted "${BACKEND_URL}/..." reached Rasa literally once, and Rasa
never loaded its model ("No agent loaded") while every test passed on a file of its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rasa.core.utils import AvailableEndpoints
from rasa.shared.utils.io import read_config_file

NLU = Path(__file__).resolve().parents[2] / "nlu"
SHIPPED = sorted(p for p in NLU.glob("*.yml") if "endpoints" in p.name or "credentials" in p.name)
VARIABLE = re.compile(r"\$\{(\w+)\}")


def test_the_shipped_files_are_all_here() -> None:
    names = {p.name for p in SHIPPED}
    assert {"endpoints.yml", "deploy-endpoints.yml", "credentials.yml"} <= names


def leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [str(value)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_variable_is_substituted(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [line.split("#", 1)[0] for line in path.read_text().splitlines()]
    variables = set(VARIABLE.findall("\n".join(lines)))
    assert variables or path.name == "credentials.yml"
    for name in variables:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    read = leaves(read_config_file(str(path)))
    left = [value for value in read if "${" in value]
    assert not left, f"{path.name}: Rasa reads these literally (quoted?): {left}"
    for name in variables:
        assert any(f"test-{name.lower()}" in value for value in read), name


def test_the_endpoints_rasa_runs_with_point_where_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:6055/webhook")
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("SERVICE_TOKEN", "a-test-token")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "an-action-secret")
    endpoints = AvailableEndpoints.read_endpoints(str(NLU / "endpoints.yml"))
    assert endpoints.action is not None and endpoints.model is not None
    assert endpoints.action.url == "http://127.0.0.1:6055/webhook"
    # every action call carries the action server's secret (actions/serve.py)
    assert endpoints.action.headers == {"Authorization": "Bearer an-action-secret"}
    assert endpoints.model.url == "http://127.0.0.1:9000/api/v1/nlu/model"
    assert endpoints.model.headers == {"Authorization": "Bearer a-test-token"}


def test_production_endpoints_reach_the_tracker_store_and_the_model_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POSTGRES_PASSWORD", "pg-secret")
    monkeypatch.setenv("SERVICE_TOKEN", "a-test-token")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "an-action-secret")
    monkeypatch.setenv("ACTION_SERVER_URL", "http://proxy:5055/webhook")
    monkeypatch.setenv("TRACKER_DB_HOST", "db:5432")
    monkeypatch.setenv("LOCK_STORE_HOST", "redis")
    monkeypatch.setenv("LOCK_STORE_PORT", "6379")
    monkeypatch.setenv("BACKEND_URL", "http://proxy:80")
    endpoints = AvailableEndpoints.read_endpoints(str(NLU / "deploy-endpoints.yml"))
    assert endpoints.tracker_store is not None and endpoints.model is not None
    assert endpoints.action is not None and endpoints.lock_store is not None
    assert endpoints.action.url == "http://proxy:5055/webhook"
    assert endpoints.action.headers == {"Authorization": "Bearer an-action-secret"}
    assert endpoints.tracker_store.url == "db:5432"
    assert endpoints.tracker_store.kwargs["password"] == "pg-secret"
    assert (endpoints.lock_store.url, endpoints.lock_store.kwargs["port"]) == ("redis", "6379")
    assert endpoints.model.url == "http://proxy:80/api/v1/nlu/model"
    assert endpoints.model.headers == {"Authorization": "Bearer a-test-token"}


def test_an_unset_variable_stops_rasa_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTION_SERVER_URL", raising=False)
    with pytest.raises(Exception, match="ACTION_SERVER_URL"):
        read_config_file(str(NLU / "endpoints.yml"))


def test_the_gateway_channel_is_the_only_one_and_takes_its_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa's plain `rest` channel has no authentication: only the gateway's own is declared."""
    monkeypatch.setenv("RASA_TOKEN", "a-rasa-token")
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("SERVICE_TOKEN", "a-test-token")
    credentials = read_config_file(str(NLU / "credentials.yml"))
    assert credentials == {
        "channels.GatewayInput": {
            "token": "a-rasa-token",
            "backend_url": "http://127.0.0.1:9000",
            "service_token": "a-test-token",
        }
    }
