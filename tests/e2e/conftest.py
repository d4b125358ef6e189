"""The running stack for end-to-end tests, started once per test session: the backend, the
action server, Rasa with the trained model (`make train`), a fake Telegram Bot API server
(npm telegram-test-api, installed by `make setup`) and the real gateway polling it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
FAKE_TELEGRAM = ROOT / "tests" / "e2e" / "fake_telegram"
TOKEN = "e2e-assistant-token"
TODAY = "2026-11-29"  # a Sunday: 下周五 / next friday is 2026-12-04
BOT_TOKEN = "1001:journey"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float, *, ready: int = 500) -> None:
    """Until `url` answers below `ready` (200 for Rasa: up *and* its model loaded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < ready:
                return
            time.sleep(0.3)
        except httpx.TransportError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not come up in {seconds} s")


def eventually(check: Callable[[], object], seconds: float = 20, what: str = "") -> object:
    """Wait until `check` returns something truthy; its value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what or check}")
        time.sleep(0.2)


@dataclass
class Processes:
    logs: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, name: str, args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process with the stack's environment (plus `env`), logging to its file."""
        out = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args, cwd=cwd, env={**self.env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                self.stop(proc)


@dataclass
class Stack:
    backend: str
    rasa: str
    gateway: str
    telegram_api: str
    processes: Processes
    nlu_dir: Path  # the backend's copy of the NLU project: labels are written here

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.backend}/api/v1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )

    def link_token(self, borrower: str) -> str:
        with self.api() as api:
            return str(api.post(f"/borrowers/{borrower}/link-tokens").json()["token"])

    def gateway_env(self, port: int, bot_token: str, **env: str) -> dict[str, str]:
        return {
            "GATEWAY_PORT": str(port),
            "TELEGRAM_BOT_TOKEN": bot_token,
            "TELEGRAM_API_BASE_URL": f"{self.telegram_api}/bot",
            "TELEGRAM_POLL_INTERVAL": "0.2",
            "OUTBOUND_POLL_SECONDS": "0.3",
            "SPOOL_PATH": str(self.processes.logs / f"spool-{port}.sqlite3"),
            **env,
        }

    def start_gateway(
        self, name: str, port: int, bot_token: str, **env: str
    ) -> subprocess.Popen[bytes]:
        proc = self.processes.start(
            name,
            [sys.executable, "-m", "tests.e2e.fake_telegram.gateway"],
            env=self.gateway_env(port, bot_token, **env),
        )
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, 30)
        eventually(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").json()["telegram"] != "starting",
            what=f"{name} connected to the fake Telegram server",
        )
        return proc

    @contextlib.contextmanager
    def another_gateway(self, name: str, bot_token: str, **env: str) -> Iterator[int]:
        """A second gateway on the same backend, for one test (two gateways without Redis
        would each push web chat messages to their own pages only); its port."""
        port = free_port()
        proc = self.start_gateway(name, port, bot_token, **env)
        try:
            yield port
        finally:
            self.processes.stop(proc)


def _model() -> str:
    model = (
        os.environ.get("ASSISTANT_MODEL")
        or subprocess.run(
            [str(RASA_PY), "train.py", "--path"],
            cwd=ROOT / "nlu",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    if not Path(model).exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    return model


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (FAKE_TELEGRAM / "node_modules").exists() or shutil.which("node") is None:
        pytest.fail("the fake Telegram server is not installed: run `make setup`")
    model = _model()
    ports = {name: free_port() for name in ("backend", "actions", "rasa", "gateway", "telegram")}
    backend_url = f"http://127.0.0.1:{ports['backend']}"
    rasa_url = f"http://127.0.0.1:{ports['rasa']}"
    logs = tmp_path_factory.mktemp("logs")
    # Labelling and retraining work on a copy: the tests never write into the repository's nlu/.
    nlu_dir = tmp_path_factory.mktemp("nlu") / "nlu"
    nlu_dir.mkdir()
    for part in ("config.yml", "domain", "data", "tests"):
        source = ROOT / "nlu" / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, nlu_dir / part)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('assistant') / 'backend.db'}",
        "BACKEND_PORT": str(ports["backend"]),
        "PUBLIC_BASE_URL": backend_url,
        "SERVICE_TOKEN": TOKEN,
        "BUSINESS_DATE": TODAY,
        "BACKEND_URL": backend_url,
        "RASA_URL": rasa_url,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "NLU_DIR": str(nlu_dir),
        "NLU_BASE_MODEL": model,
        "NLU_MODELS_DIR": str(tmp_path_factory.mktemp("models")),
    }
    # As nlu/endpoints.yml: Rasa fetches the model to run from the backend.
    endpoints = logs / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "{env["ACTION_SERVER_URL"]}"\n'
        f'models:\n  url: "{backend_url}/api/v1/nlu/model"\n'
        f'  headers:\n    Authorization: "Bearer {TOKEN}"\n  wait_time_between_pulls: 5\n'
    )
    processes = Processes(logs, env)
    try:
        telegram = processes.start(
            "telegram", ["node", "server.js", str(ports["telegram"])], cwd=FAKE_TELEGRAM
        )
        backend = processes.start("backend", [sys.executable, "-m", "backend", "serve"])
        actions = processes.start(
            "actions",
            [
                str(RASA_PY),
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(ports["actions"]),
            ],
        )
        rasa = processes.start(
            "rasa",
            [
                str(RASA_PY), "serve.py", "run", "--enable-api",
                "--port", str(ports["rasa"]),
                "--endpoints", str(endpoints), "--credentials", "credentials.yml",
            ],
            cwd=ROOT / "nlu",
        )  # fmt: skip
        telegram_api = f"http://127.0.0.1:{ports['telegram']}"
        wait_for(f"{telegram_api}/bot0:probe/getMe", telegram, 30)
        wait_for(f"{backend_url}/healthz", backend, 60)
        wait_for(f"http://127.0.0.1:{ports['actions']}/health", actions, 90)
        wait_for(f"{rasa_url}/status", rasa, 240, ready=201)
        stack = Stack(
            backend=backend_url,
            rasa=rasa_url,
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            telegram_api=telegram_api,
            processes=processes,
            nlu_dir=nlu_dir,
        )
        stack.start_gateway("gateway", ports["gateway"], BOT_TOKEN)
        yield stack
    finally:
        processes.stop_all()
