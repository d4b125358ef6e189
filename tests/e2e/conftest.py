"""The running stack for end-to-end tests, started once per test session as `make run` starts
it: the database migrated and seeded first, then the Procfile's own commands (backend, action
server, Rasa with the repository's nlu/endpoints.yml and credentials.yml, gateway), with only
environment variables changed: ports, a fresh database, the model `make train` built. Telegram
is a fake Bot API server (npm telegram-test-api, installed by `make setup`) that the real
gateway polls."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from scripts.run_stack import read_procfile
from tests import ports
from tests.e2e.failing_action import FailingOnce

ROOT = Path(__file__).resolve().parents[2]
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
FAKE_TELEGRAM = ROOT / "tools" / "fake_telegram"
TOKEN = "e2e-assistant-token"
RASA_TOKEN = "e2e-rasa-token"  # Rasa's API and REST channel
ACTION_SERVER_TOKEN = "e2e-action-server-token"
TODAY = "2026-11-29"  # a Sunday: 下周五 / next friday is 2026-12-04
BOT_TOKEN = "1001:journey"
PROCFILE = read_procfile(ROOT / "Procfile")


def free_port() -> int:
    return ports.free_port("e2e")


def wait_for(
    url: str,
    proc: subprocess.Popen[bytes],
    seconds: float,
    *,
    ready: int = 500,
    log: Path | None = None,
) -> None:
    """Until `url` answers below `ready` (200 for Rasa: up *and* its model loaded). A failure
    carries the end of the process's `log`: what it was doing when the time ran out."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            answered = httpx.get(url, timeout=2).status_code < ready
        except httpx.TransportError:
            answered = False
        # Looked at after the answer: a process that lost its port leaves another's answer.
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}{_tail(log)}")
        if answered:
            return
        time.sleep(0.3)
    pytest.fail(f"{url} did not come up in {seconds} s{_tail(log)}")


def _tail(log: Path | None, chars: int = 3000) -> str:
    if log is None or not log.exists():
        return ""
    return f"\n--- the end of {log.name} ---\n{log.read_text(errors='replace')[-chars:]}"


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
    named: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # the latest of each

    def start(
        self, name: str, args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process with the stack's environment (plus `env`), logging to its file, in a
        process group of its own (a Procfile line runs under bash and may start children)."""
        out = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env={**self.env, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        self.named[name] = proc
        return proc

    def start_procfile(
        self, name: str, env: dict[str, str] | None = None, *, log: str | None = None
    ) -> subprocess.Popen[bytes]:
        """The Procfile's own command for `name`, as `make run` runs it."""
        return self.start(log or name, ["/bin/bash", "-c", PROCFILE[name]], env=env)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

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

    @contextlib.contextmanager
    def action_server_down(self) -> Iterator[None]:
        """The action server stopped for the block (its port refuses), then started again as
        the stack started it, and waited for."""
        actions = self.processes.named["actions"]
        self.processes.stop(actions)
        try:
            yield
        finally:
            again = self.processes.start_procfile("actions")
            port = self.processes.env["ACTION_SERVER_PORT"]
            log = self.processes.logs / "actions.log"
            wait_for(f"http://127.0.0.1:{port}/health", again, 180, log=log)

    @contextlib.contextmanager
    def action_failing_once(self, action: str) -> Iterator[list[str]]:
        """For the block, the action server runs on another port behind FailingOnce, on its
        own: the first call of `action` fails as if its replica had died. Yields the actions
        called, in order. Then the stack's action server again, as the stack started it."""
        env = self.processes.env
        self.processes.stop(self.processes.named["actions"])
        behind = free_port()
        moved = self.processes.start_procfile(
            "actions", env={"ACTION_SERVER_PORT": str(behind)}, log="actions-behind"
        )
        log = self.processes.logs / "actions-behind.log"
        wait_for(f"http://127.0.0.1:{behind}/health", moved, 180, log=log)
        proxy = FailingOnce(int(env["ACTION_SERVER_PORT"]), behind, action)
        try:
            yield proxy.calls
        finally:
            proxy.close()
            self.processes.stop(moved)
            again = self.processes.start_procfile("actions")
            port = env["ACTION_SERVER_PORT"]
            log = self.processes.logs / "actions.log"
            wait_for(f"http://127.0.0.1:{port}/health", again, 180, log=log)

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.backend}/api/v1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )

    def rasa_api(self) -> httpx.Client:
        """Rasa's HTTP API with its token (the `token` query parameter, as Rasa 3.6 takes it)."""
        return httpx.Client(base_url=self.rasa, params={"token": RASA_TOKEN}, timeout=120)

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
        proc = self.processes.start_procfile(
            "gateway", self.gateway_env(port, bot_token, **env), log=name
        )
        log = self.processes.logs / f"{name}.log"
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, 90, log=log)
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


@dataclass(frozen=True)
class DemoBackend:
    url: str
    database_url: str


@contextlib.contextmanager
def demo_backend(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, token: str
) -> Iterator[DemoBackend]:
    """Only the backend, as `make run` starts it, over a freshly seeded demo database (SQLite):
    for the console's pages that need neither Rasa nor the gateway."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'backend.db'}"
    env = {
        "DATABASE_URL": database_url,
        "BACKEND_PORT": str(port),
        "PUBLIC_BASE_URL": url,
        "SERVICE_TOKEN": token,
        "BUSINESS_DATE": TODAY,
    }
    processes = Processes(tmp_path_factory.mktemp(f"{name}-logs"), {**os.environ, **env})
    try:
        seed_database(processes.env)
        proc = processes.start_procfile("backend")
        wait_for(f"{url}/healthz", proc, 120, log=processes.logs / "backend.log")
        yield DemoBackend(url, database_url)
    finally:
        processes.stop_all()


def seed_database(env: dict[str, str]) -> None:
    """As `make run` does before any process starts: migrate, then seed the demo data."""
    done = subprocess.run(
        [sys.executable, "-m", "backend", "seed-demo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


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
        "ACTION_SERVER_PORT": str(ports["actions"]),
        "RASA_PORT": str(ports["rasa"]),
        "PUBLIC_BASE_URL": backend_url,
        "SERVICE_TOKEN": TOKEN,
        "RASA_TOKEN": RASA_TOKEN,
        "ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN,
        "BUSINESS_DATE": TODAY,
        "BACKEND_URL": backend_url,
        "RASA_URL": rasa_url,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "NLU_DIR": str(nlu_dir),
        "NLU_BASE_MODEL": model,
        "NLU_MODELS_DIR": str(tmp_path_factory.mktemp("models")),
        # The links in texts open this stack's web chat (make run derives them the same way).
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{ports['gateway']}",
        "WEBCHAT_PUBLIC_URL": f"http://127.0.0.1:{ports['gateway']}/webchat",
    }
    processes = Processes(logs, env)
    try:
        telegram = processes.start(
            "telegram", ["node", "server.js", str(ports["telegram"])], cwd=FAKE_TELEGRAM
        )
        seed_database(env)
        backend = processes.start_procfile("backend")
        actions = processes.start_procfile("actions")
        rasa = processes.start_procfile("rasa")
        telegram_api = f"http://127.0.0.1:{ports['telegram']}"
        wait_for(f"{telegram_api}/bot0:probe/getMe", telegram, 30, log=logs / "telegram.log")
        wait_for(f"{backend_url}/healthz", backend, 120, log=logs / "backend.log")
        actions_health = f"http://127.0.0.1:{ports['actions']}/health"
        wait_for(actions_health, actions, 180, log=logs / "actions.log")
        # Rasa imports TensorFlow, pulls the model from the backend and loads it: minutes when
        # the Rasa-side suites and `make run`'s copy load theirs on the same two cores.
        rasa_status = f"{rasa_url}/status?token={RASA_TOKEN}"
        wait_for(rasa_status, rasa, 600, ready=201, log=logs / "rasa.log")
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
