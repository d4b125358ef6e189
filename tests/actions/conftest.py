"""The real backend, as a process, for the action server's client to talk to.

Started from the backend's own virtualenv (`.venv`, Python 3.11) on a free port with a fresh
SQLite file and the demo borrowers seeded as of 2026-11-29, once per test module. The seeding
(migrations and the demo's history: about 11 s of CPU) is done once per run, and each module's
backend starts on a copy of that file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions import backend as api
from tests import ports

ROOT = Path(__file__).resolve().parents[2]
BACKEND_PYTHON = ROOT / ".venv" / "bin" / "python"
TOKEN = "actions-test-token"
BUSINESS_DATE = "2026-11-29"


@dataclass(frozen=True)
class RunningBackend:
    url: str
    token: str
    env: dict[str, str]

    def link_token(self, borrower_ref: str) -> str:
        """A one-time link token, made the way an operator makes one: the backend's CLI."""
        done = subprocess.run(
            [str(BACKEND_PYTHON), "-m", "backend", "link-token", borrower_ref],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    async def redeemed_link(self, sender: str, borrower_ref: str) -> dict[str, Any]:
        """A link token for the borrower redeemed for this chat as Rasa's channel redeems it,
        and what the channel passes on to the actions (message metadata `link_verification`)."""
        channel, user_id = api.conversation_of(sender)
        async with api.Backend(self.url, self.token) as client:
            answer = await client.verify_link_token(channel, user_id, self.link_token(borrower_ref))
        return {
            "status": answer.status,
            "attempts_left": answer.attempts_left,
            "language": answer.language,
            "first_name": answer.first_name,
        }

    def api(self) -> httpx.Client:
        """A plain HTTP client with the service token, to check the typed client against."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {self.token}"}
        )


def free_port() -> int:
    return ports.free_port("actions")


def backend_env(database: Path, port: int = 0) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "BACKEND_HOST": "127.0.0.1",
        "BACKEND_PORT": str(port),
        "PUBLIC_BASE_URL": url,
        "SERVICE_TOKEN": TOKEN,
        "BUSINESS_DATE": BUSINESS_DATE,
    }


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated and seeded as `make run` does it (`backend seed-demo`), to copy."""
    if not BACKEND_PYTHON.exists():
        pytest.fail(f"the backend's virtualenv is missing ({BACKEND_PYTHON}): run `make setup`")
    database = tmp_path_factory.mktemp("seeded") / "backend.db"
    subprocess.run(
        [str(BACKEND_PYTHON), "-m", "backend", "seed-demo"],
        cwd=ROOT, env=backend_env(database), check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    # seed-demo's last connection has checkpointed SQLite's write-ahead log into the file.
    assert not database.with_name(database.name + "-wal").exists()
    return database


@pytest.fixture(scope="module")
def backend(
    tmp_path_factory: pytest.TempPathFactory, seeded_database: Path
) -> Iterator[RunningBackend]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = tmp_path_factory.mktemp("backend") / "backend.db"
    shutil.copyfile(seeded_database, database)  # a fresh database of its own for each module
    env = backend_env(database, port)
    log = tmp_path_factory.mktemp("backend-log") / "backend.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BACKEND_PYTHON), "-m", "backend", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, proc, log)
        yield RunningBackend(url=url, token=TOKEN, env=env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the backend exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the backend did not start within 90 s:\n{log.read_text()}")


@pytest.fixture
def served(backend: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> RunningBackend:
    """Actions make their own client from the environment, as in the action server."""
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("SERVICE_TOKEN", backend.token)
    return backend
