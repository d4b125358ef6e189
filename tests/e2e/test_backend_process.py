"""The backend as `make run` starts it: a real process on a fresh SQLite file, over HTTP, after
`seed-demo` has migrated and seeded it; and every database command on a file that is not
migrated says in one line what to run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import ports

# Processes of its own: beside the shared stack, on the other pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("own-processes")

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-service-token"


def free_port() -> int:
    return ports.free_port("e2e")


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510  (the tests read the return code)
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # a folder that does not exist yet, as var/ on a fresh clone
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('run') / 'var' / 'backend.db'}",
        "BACKEND_PORT": str(port),
        "PUBLIC_BASE_URL": url,
        "SERVICE_TOKEN": TOKEN,
    }
    seeded = cli("seed-demo", env=env)  # what `make run` does before it starts the processes
    assert seeded.returncode == 0, seeded.stderr
    assert "demo borrowers seeded" in seeded.stdout
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            proc.kill()
            pytest.fail(f"backend did not start: {proc.stdout.read() if proc.stdout else ''}")
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serves_docs_and_the_demo_portfolio(backend: tuple[str, dict[str, str]]) -> None:
    url, _ = backend
    assert httpx.get(f"{url}/docs").status_code == 200
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.get("/loans/L-DEMO-04/balance").json()["dpd"] == 45
    assert api.get("/borrowers/DEMO-01").json()["language"] == "zh"


def test_the_pay_loop_through_the_sandbox_checkout(backend: tuple[str, dict[str, str]]) -> None:
    url, _ = backend
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {TOKEN}"})
    before = api.get("/loans/L-DEMO-03/balance").json()
    link = api.post("/loans/L-DEMO-03/payment-links", json={}).json()
    assert link["amount"] == before["due_now"]
    browser = httpx.Client()  # keeps the page's CSRF cookie, as a browser does
    page = browser.get(link["url"])
    assert page.status_code == 200 and link["amount"] in page.text
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)}  # type: ignore[union-attr]
    done = browser.post(link["url"], data=form, follow_redirects=True)
    assert "已收到您的还款" in done.text
    after = api.get("/loans/L-DEMO-03/balance").json()
    assert (after["dpd"], after["overdue_amount"]) == (0, "0.00")
    history = api.get("/loans/L-DEMO-03/payments").json()
    assert history[0]["provider"] == "sandbox"


def test_cli_prints_a_balance_and_generates_a_portfolio(
    backend: tuple[str, dict[str, str]],
) -> None:
    _, env = backend
    balance = cli("balance", "L-DEMO-05", env=env)
    assert balance.returncode == 0 and '"bucket": "61-90"' in balance.stdout
    missing = cli("balance", "L-NOPE", env=env)
    assert missing.returncode == 1 and "no loan 'L-NOPE'" in missing.stderr
    gen = cli("generate", "--borrowers", "50", "--seed", "3", env=env)
    assert gen.returncode == 0, gen.stderr
    assert re.search(r"generated 50 borrowers, 50 loans, \d+ installments", gen.stdout)
    assert "50/50" in gen.stderr  # the progress bar


def test_link_token_command_prints_a_token_that_binds_a_chat(
    backend: tuple[str, dict[str, str]],
) -> None:
    url, env = backend
    made = cli("link-token", "DEMO-01", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and " " not in token  # alone on stdout
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {TOKEN}"})
    bound = api.post("/conversations/webchat/e2e-1/verify/link-token", json={"token": token}).json()
    assert bound["status"] == "verified"
    assert api.get("/conversations/webchat/e2e-1/loans").json()[0]["loan_ref"] == "L-DEMO-01"
    assert cli("link-token", "NOBODY", env=env).returncode == 1


class TestAnUnmigratedDatabase:
    """README: "delete var/backend.db to re-seed later"; every command then either migrates
    first (seed-demo) or says in one line to run migrate, and never creates half a schema."""

    def test_commands_that_need_the_schema_say_what_to_run(self, tmp_path: Path) -> None:
        path = tmp_path / "var" / "backend.db"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "SERVICE_TOKEN": TOKEN}
        for command in (
            ["serve"],
            ["link-token", "DEMO-01"],
            ["generate", "--borrowers", "1"],
            ["dashboard"],
            ["balance", "L-DEMO-01"],
            ["outreach", "worker"],
            ["evaluate-promises"],
        ):
            done = cli(*command, env=env)
            assert done.returncode == 1, (command, done.stdout, done.stderr)
            assert done.stderr == (
                f"no database at {path}: run `.venv/bin/python -m backend migrate`\n"
            ), command
            assert not path.exists()

    def test_seed_demo_on_a_deleted_file_migrates_first(self, tmp_path: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'backend.db'}",
            "SERVICE_TOKEN": TOKEN,
        }
        first = cli("seed-demo", env=env)
        assert first.returncode == 0, first.stderr
        assert "demo borrowers seeded" in first.stdout
        assert "demo history:" in first.stdout
        again = cli("seed-demo", env=env)
        assert again.returncode == 0, again.stderr
        assert "database not empty" in again.stdout
        token = cli("link-token", "DEMO-03", env=env)
        assert token.returncode == 0 and token.stdout.strip()
