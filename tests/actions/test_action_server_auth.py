"""The action server as the Procfile starts it (`python -m actions.serve`): nothing but its
health check answers without the shared secret Rasa sends, so no action runs for a caller
without it; and it does not start without a secret, nor with an unknown APP_ENV, nor on a
development, short or guessable one in production."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from actions.serve import allowed, refusals
from tests import ports
from tests.keep_alive import served_after_idling

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-action-server-secret"


def test_only_the_health_check_is_open() -> None:
    assert allowed("GET", "/health", None, SECRET)
    assert allowed("POST", "/webhook", f"Bearer {SECRET}", SECRET)
    assert allowed("GET", "/actions", f"bearer {SECRET}", SECRET)
    for method, path, header in [
        ("POST", "/webhook", None),
        ("POST", "/webhook", SECRET),
        ("POST", "/webhook", f"Basic {SECRET}"),
        ("POST", "/webhook", f"Bearer {SECRET[:-1]}"),
        ("POST", "/webhook", f"Bearer {SECRET}x"),
        ("GET", "/actions", None),
        ("POST", "/health", None),
    ]:
        assert not allowed(method, path, header, SECRET), (method, path, header)
    assert not allowed("POST", "/webhook", "Bearer ", "")


def test_refusals_before_it_starts() -> None:
    assert "ACTION_SERVER_TOKEN is not set" in refusals({})[0]
    assert refusals({"ACTION_SERVER_TOKEN": "dev-action-server-token"}) == []
    production = {"APP_ENV": "production", "SERVICE_TOKEN": secrets.token_hex(32)}
    for weak in ("dev-action-server-token", "short", "a" * 32, "1234567890123456", ""):
        (line,) = refusals({**production, "ACTION_SERVER_TOKEN": weak})
        assert line.startswith("production refuses ACTION_SERVER_TOKEN: "), weak
    assert refusals({**production, "ACTION_SERVER_TOKEN": secrets.token_hex(32)}) == []


def test_production_checks_the_backends_token_too() -> None:
    env = {"APP_ENV": "production", "ACTION_SERVER_TOKEN": secrets.token_hex(32)}
    (line,) = refusals(env)  # actions/backend.py would fall back on dev-service-token
    assert line.startswith("production refuses SERVICE_TOKEN: it is not set")


@pytest.mark.parametrize("app_env", ["Production", "prod", " production"])
def test_an_unknown_app_env_is_refused(app_env: str) -> None:
    assert refusals({"APP_ENV": app_env, "ACTION_SERVER_TOKEN": SECRET}) == [
        f"APP_ENV={app_env!r} is not known: set it to one of development, test, production "
        "(exactly)"
    ]


def test_docker_compose_gives_it_what_production_needs() -> None:
    """The actions service's environment in docker-compose.yml, every ${VAR} a generated
    secret, passes."""
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["actions"]
    env = {
        name: re.sub(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", lambda _: secrets.token_hex(32), str(value))
        for name, value in service["environment"].items()
    }
    assert env["APP_ENV"] == "production"
    assert refusals(env) == []


def free_port() -> int:
    return ports.free_port("actions")


def start(port: int, **env: str) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "ACTION_SERVER_TOKEN")}
    return subprocess.Popen(
        [sys.executable, "-m", "actions.serve", "--actions", "actions", "--port", str(port)],
        cwd=ROOT,
        env={**base, "SANIC_HOST": "127.0.0.1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextlib.contextmanager
def serving(**env: str) -> Iterator[str]:
    """The action server started on a free port with `env`, its address once it answers."""
    port = free_port()
    proc = start(port, **env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the action server did not start"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(ACTION_SERVER_TOKEN=SECRET) as url:
        yield url


CALL = {
    "next_action": "action_wrong_person",
    "sender_id": "telegram:1",
    "tracker": {"sender_id": "telegram:1", "slots": {}, "latest_message": {}, "events": []},
    "domain": {},
    "version": "3.6.21",
}


def test_no_action_runs_without_the_secret(server: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET}):
        answer = httpx.post(f"{server}/webhook", json=CALL, headers=headers, timeout=10)
        assert answer.status_code == 401, headers
        assert answer.json() == {"error": "unauthorized"}  # nothing about any action
        assert httpx.get(f"{server}/actions", headers=headers, timeout=10).status_code == 401


def test_with_the_secret_it_serves(server: str) -> None:
    auth = {"Authorization": f"Bearer {SECRET}"}
    listed = httpx.get(f"{server}/actions", headers=auth, timeout=10)
    assert listed.status_code == 200
    assert {"name": "action_verify_token"} in listed.json()
    unknown = httpx.post(
        f"{server}/webhook", json={**CALL, "next_action": "no_such_action"}, headers=auth
    )
    assert unknown.status_code == 404  # reached the executor


def test_a_development_secret_is_refused_in_production_with_one_line() -> None:
    proc = start(
        free_port(),
        APP_ENV="production",
        ACTION_SERVER_TOKEN="dev-action-server-token",
        SERVICE_TOKEN=secrets.token_hex(32),
    )
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert out.strip().splitlines() == [
        "action server not started: production refuses ACTION_SERVER_TOKEN: it is a development "
        "default (dev-...); set a random one, e.g. from `openssl rand -hex 32`"
    ]


def test_an_idle_connection_is_kept_past_sanics_five_seconds(server: str) -> None:
    """nginx reuses a connection idle up to 60 s (deploy/nginx.conf): the server must not have
    closed it (Sanic's default closes one idle 5 s)."""
    assert served_after_idling(server, "GET", "/health") == [(200, False)] * 2
