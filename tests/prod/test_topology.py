"""`make run-prod`'s topology, as a lender runs it: scripts/run_prod.py started as the Makefile
starts it (its own PostgreSQL and Redis, two of each service, nginx in front, APP_ENV=production),
and borrowers talking to it through nginx only."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, eventually
from tests.e2e.webchat_client import WebBorrower

READY = "The production topology is ready"
PORTS = 60  # the launcher's ports: published ones, then internal ones


def free_range(size: int) -> int:
    """The first of `size` consecutive free ports."""
    for first in range(31000, 60000, 97):
        taken = False
        for port in range(first, first + size):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    taken = True
                    break
        if not taken:
            return first
    raise RuntimeError("no free port range")


@dataclass
class Topology:
    proc: subprocess.Popen[bytes]
    state: Path
    log: Path
    first_port: int
    backend_env: dict[str, str]

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.first_port + 1}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.first_port}"

    def backend_cli(self, *args: str) -> str:
        env = {**self.backend_env, "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "backend", *args],
            cwd=self.state, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    def upstreams(self, port: int) -> list[str]:
        """The replica (address) nginx passed each request on `port` to, in order."""
        lines = (self.state / "nginx" / "access.log").read_text().splitlines()
        return [line.split()[4] for line in lines if line.split()[1] == str(port)]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def exports(state: Path, first: int) -> dict[str, str]:
    where = ["--state", str(state), "--ports-from", str(first)]
    text = subprocess.run(
        [sys.executable, "scripts/run_prod.py", "env", *where],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    env = {}
    for line in text.splitlines():
        name, value = line.removeprefix("export ").split("=", 1)
        env[name] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    state = tmp_path_factory.mktemp("prod")
    if os.geteuid() == 0:  # the postgres user makes its cluster in here
        for folder in (state, *state.parents):
            folder.chmod(folder.stat().st_mode | 0o011)
    first = free_range(PORTS)
    log = state / "run-prod.log"
    with log.open("wb") as out:
        where = ["--state", str(state), "--ports-from", str(first)]
        proc = subprocess.Popen(
            [sys.executable, "scripts/run_prod.py", *where],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    top = Topology(proc, state, log, first, exports(state, first))
    try:
        deadline = time.monotonic() + 900
        while READY not in top.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("make run-prod did not start:\n" + top.output()[-5000:])
            time.sleep(1)
        yield top
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def overdue(topology: Topology) -> str:
    """A borrower of the lender's own with an overdue loan (generated: production refuses demo
    data), found as operations would, with the backend's command line."""
    topology.backend_cli("generate", "--borrowers", "12", "--seed", "5")
    for number in range(1, 13):
        ref = f"G{number:08d}"
        balance = json.loads(topology.backend_cli("balance", f"L-{ref}"))
        if balance["status"] == "active" and balance["bucket"] != "current":
            return ref
    pytest.fail("no overdue loan among the generated ones")


def rasa_port(top: Topology) -> int:
    """The proxy's port in front of the Rasa replicas (the container's 5005)."""
    from scripts import compose_plan

    plan = compose_plan.build(
        {**top.backend_env, **{n: "x" * 40 for n in compose_plan.required_names()}},
        top.state,
        first_port=top.first_port + 10,
        published_from=top.first_port,
    )
    return plan.addresses[("proxy", 5005)]


def test_a_borrower_links_sees_the_balance_and_promises_through_nginx_on_postgresql(
    topology: Topology, overdue: str
) -> None:
    token = topology.backend_cli("link-token", overdue)
    borrower = WebBorrower(topology.web)
    assert "身份核实成功" in borrower.text(f"/start {token}")
    balance = borrower.text("我还欠多少钱")
    assert f"L-{overdue}" in balance and "逾期" in balance
    ask = borrower.text("约定还款日")
    least = re.search(r"至少 ([\d.]+) CNY", ask)
    assert least, ask
    amount = f"{float(least.group(1)) + 100:.2f}"
    assert "哪天还" in borrower.text(amount)
    assert "对吗" in borrower.text("下周五")
    assert "已记录" in borrower.text("是的")
    assert "转接人工" in borrower.text("转人工")
    health = httpx.get(f"{topology.http}/healthz", timeout=10)
    assert health.status_code == 200


def test_consecutive_messages_go_to_both_rasa_replicas_and_the_dialogue_holds(
    topology: Topology,
) -> None:
    port = rasa_port(topology)
    borrower = WebBorrower(topology.web)
    before = len(topology.upstreams(port))
    replies = [borrower.text(m) for m in ("你好", "我还欠多少钱", "我想分期")]
    assert all(replies)
    used = topology.upstreams(port)[before:]
    assert len(set(used)) == 2, used


def test_two_messages_of_one_chat_at_once_are_handled_one_after_the_other(
    topology: Topology,
) -> None:
    borrower = WebBorrower(topology.web)
    borrower.text("你好")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(borrower.text, ["我还欠多少钱", "hello"]))
    assert all(answers)
    events = eventually(lambda: tracker_events(topology, borrower.sender), what="the tracker")
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    for a, b in itertools.pairwise(users):
        between = [e for e in events[a:b] if e["event"] == "action"]
        assert between, "two user messages in a row: the lock store did not serialise them"


def tracker_events(top: Topology, sender: str) -> list[dict[str, object]]:
    token = top.backend_env["RASA_TOKEN"]
    r = httpx.get(
        f"http://127.0.0.1:{rasa_port(top)}/conversations/webchat:{sender}/tracker",
        params={"token": token},
        timeout=30,
    )
    r.raise_for_status()
    return list(r.json()["events"])
