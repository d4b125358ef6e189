"""`make run-prod`'s topology, as a lender runs it: scripts/run_prod.py started as the Makefile
starts it (its own PostgreSQL and Redis, two of each service, nginx in front, APP_ENV=production;
the session's one topology, conftest.py), and borrowers talking to it through nginx only."""

from __future__ import annotations

import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench.topology import Topology
from tests.e2e.conftest import eventually
from tests.e2e.webchat_client import WebBorrower


@pytest.fixture(scope="module")
def overdue(chinese_overdue: list[str]) -> str:
    """A generated borrower with an overdue loan (the journeys in test_journeys.py take the
    others)."""
    assert chinese_overdue, "no overdue loan among the generated ones"
    return chinese_overdue[0]


def test_a_borrower_links_sees_the_balance_and_promises_through_nginx_on_postgresql(
    topology: Topology, overdue: str
) -> None:
    token = topology.backend_cli("link-token", overdue)
    borrower = WebBorrower(topology.web)
    assert "身份核实成功" in borrower.text(f"/start {token}")
    balance = borrower.text("我还欠多少钱")
    assert f"L-{overdue}" in balance and "逾期" in balance
    ask = borrower.text("约定还款日")
    least = re.search(r"至少 ([\d.]+) [A-Z]{3}", ask)
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
    port = topology.rasa_port
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
        f"http://127.0.0.1:{top.rasa_port}/conversations/webchat:{sender}/tracker",
        params={"token": token},
        timeout=30,
    )
    r.raise_for_status()
    return list(r.json()["events"])


def test_nginx_carries_the_turns_over_the_connections_it_keeps(topology: Topology) -> None:
    """deploy/nginx.conf's upstream `keepalive`: a busy Rasa accepts a new connection seconds
    late, so nginx keeps its connections to the Rasa replicas and the action servers open after
    a turn and sends the next turns over them rather than opening new ones."""
    rasa = {topology.port(r.name) for r in topology.replicas("rasa")}
    actions = {topology.port(r.name) for r in topology.replicas("actions")}
    before = connections_to(rasa | actions)
    borrower = WebBorrower(topology.web)
    seen: set[int] = set()
    for message in ("你好", "我还欠多少钱", "hello", "你好", "hello", "我还欠多少钱"):
        assert borrower.text(message)
        kept = connections_to(rasa)
        assert kept, "nginx closed its connections to Rasa after the turn"
        seen |= kept
    assert connections_to(actions), "nginx closed its connections to the action servers"
    # Each replica's turns reuse one connection: at most one new one per replica.
    assert len(seen - before) <= len(rasa), sorted(seen - before)


def connections_to(ports: set[int]) -> set[int]:
    """The local ports of this machine's established TCP connections to any of `ports` (on
    127.0.0.1 the callers' ends: here nginx's, which alone reaches the replicas)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == "01" and int(remote.split(":")[1], 16) in ports:
            found.add(int(local.split(":")[1], 16))
    return found
