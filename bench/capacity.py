"""Capacity on paper, from figures measured on `make run-prod`'s topology: how many cores and
replicas a lender needs for a given book and chat volume, and which part saturates first.

It needs the topology running (`make run-prod` in another terminal; `--state` where it keeps
its files). It measures, while simulated borrowers chat through nginx's web chat (the scripted
conversations of bench/chat_load.py):

- the CPU time each part spends per borrower message (Rasa replicas, action servers, gateways,
  backends, PostgreSQL, Redis, nginx), from /proc, less what each spends idle (the model polls,
  the outbox claims) over a quiet stretch measured first;
- the backend requests per borrower message, from nginx's access log (the backend's port);
- the messages per second and reply latency the topology reached.

Reminders are not measured here: `make bench-outreach` measures planning and deciding over a
million loans on PostgreSQL; pass its figures (`--plan-loans-per-second`,
`--decisions-per-second`; defaults: the README's). The sizing assumes the busiest hour carries
`--peak-share` of a day's messages and that no part should run above `--utilisation` of its
cores at that hour; Rasa handles one message at a time per process (its model runs on the event
loop), so a replica is worth one core, plus one replica to lose.

    .venv/bin/python -m bench.capacity [--state var/prod] [--borrowers 8] [--turns 6]
        [--daily-messages 200000] [--borrowers-total 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.chat_load import Result, open_session, run_level, script_for, summarise
from bench.process_cpu import processes, tree_seconds

PARTS = ("rasa", "actions", "gateway", "backend", "outreach", "postgres", "redis", "nginx")


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def part_pids(state: Path) -> dict[str, list[int]]:
    """The topology's processes by part, each standing for itself and its children: the
    supervisor's pid files, then PostgreSQL's, Redis's and nginx's own."""
    pids: dict[str, list[int]] = {part: [] for part in PARTS}
    for pidfile in sorted((state / "run").glob("*.pid")):
        part = pidfile.stem.rsplit("-", 1)[0]
        pid = read_pid(pidfile)
        if pid and part in pids:
            pids[part].append(pid)
    for part, pidfile in (
        ("postgres", state / "postgres" / "data" / "postmaster.pid"),
        ("redis", state / "redis" / "redis.pid"),
        ("nginx", state / "nginx" / "nginx.pid"),
    ):
        pid = read_pid(pidfile)
        if pid:
            pids[part].append(pid)
    if not pids["rasa"]:
        raise SystemExit(f"no topology processes under {state}: start `make run-prod` first")
    return pids


def cpu_by_part(state: Path) -> dict[str, float]:
    # Processes come and go (PostgreSQL's backends): the set is read again each time.
    table = processes()
    return {
        part: sum(tree_seconds(pid, table) for pid in pids)
        for part, pids in part_pids(state).items()
    }


def backend_requests(state: Path, port: int) -> int:
    try:
        lines = (state / "nginx" / "access.log").read_text().splitlines()
    except OSError:
        return 0
    return sum(1 for line in lines if line.split()[1:2] == [str(port)])


@dataclass
class Measured:
    messages: int
    errors: int
    seconds: float
    latency_ms: tuple[float, float, float] | None
    per_message: dict[str, float]  # core-seconds per borrower message, by part
    backend_requests_per_message: float


async def chat(web: str, borrowers: int, turns: int) -> Result:
    limits = httpx.Limits(max_connections=borrowers + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        sessions = [await open_session(client, web) for _ in range(borrowers)]
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        seconds = await run_level(
            client,
            url=f"{web}/webchat/messages",
            concurrency=borrowers,
            scripts=[script_for(i, turns) for i in range(borrowers)],
            tokens=[None] * borrowers,
            sender_of=lambda i: sessions[i][0],
            message_of=lambda message, _token: message,
            latencies=latencies,
            errors=errors,
            headers=[auth for _, auth in sessions],
        )
    return summarise(borrowers, "gateway", latencies, errors, seconds)


def measure(state: Path, web: str, backend_port: int, args: argparse.Namespace) -> Measured:
    idle_from, idle_start = cpu_by_part(state), time.monotonic()
    idle_requests = backend_requests(state, backend_port)
    time.sleep(args.idle_seconds)
    idle_cpu, idle_seconds = cpu_by_part(state), time.monotonic() - idle_start
    idle_rate = {p: (idle_cpu[p] - idle_from[p]) / idle_seconds for p in PARTS}
    idle_request_rate = (backend_requests(state, backend_port) - idle_requests) / idle_seconds

    before, requests_before = cpu_by_part(state), backend_requests(state, backend_port)
    result = asyncio.run(chat(web, args.borrowers, args.turns))
    after, requests_after = cpu_by_part(state), backend_requests(state, backend_port)
    seconds = result.seconds
    answered = max(result.messages - result.errors, 1)
    per_message = {
        p: max(after[p] - before[p] - idle_rate[p] * seconds, 0.0) / answered for p in PARTS
    }
    requests = requests_after - requests_before - idle_request_rate * seconds
    return Measured(
        messages=result.messages,
        errors=result.errors,
        seconds=seconds,
        latency_ms=result.latency_ms,
        per_message=per_message,
        backend_requests_per_message=max(requests, 0.0) / answered,
    )


def _latency(cuts: tuple[float, float, float] | None) -> str:
    return f"{cuts[0]:,.0f}/{cuts[1]:,.0f} ms" if cuts else "-"


def sizing(measured: Measured, args: argparse.Namespace) -> list[str]:
    peak = args.daily_messages * args.peak_share / 3600
    rate = (measured.messages - measured.errors) / measured.seconds
    lines = [
        f"inputs measured here: {measured.messages} messages from {args.borrowers} borrowers "
        f"in {measured.seconds:.1f} s ({rate:.1f} "
        f"msgs/s on this machine, {measured.errors} errors, p50/p95 "
        f"{_latency(measured.latency_ms)}); "
        f"{measured.backend_requests_per_message:.1f} backend requests per message",
        "",
        "| part | CPU ms per message | messages/s per core | cores at the peak hour | replicas |",
        "| --- | --- | --- | --- | --- |",
    ]
    needs: dict[str, float] = {}
    for part in PARTS:
        cost = measured.per_message[part]
        if cost < 0.0005:  # under half a millisecond: idle beside the others (outreach, Redis)
            continue
        cores = peak * cost / args.utilisation
        needs[part] = cores
        replicas = "-"
        if part == "rasa":  # one message at a time per process: a core each, and one to lose
            replicas = str(math.ceil(cores) + 1)
        elif part in ("actions", "gateway", "backend"):
            replicas = str(max(2, math.ceil(cores) + 1))
        lines.append(f"| {part} | {cost * 1000:.0f} | {1 / cost:.1f} | {cores:.2f} | {replicas} |")
    first = max(needs, key=lambda p: needs[p]) if needs else "-"
    plan_seconds = args.borrowers_total / args.plan_loans_per_second
    due = args.borrowers_total * args.due_share
    decide_seconds = due / args.decisions_per_second
    send_minutes = due / args.telegram_per_second / 60
    lines += [
        "",
        f"for {args.daily_messages:,} messages a day with {args.peak_share:.0%} in the busiest "
        f"hour: {peak:.1f} messages/s at the peak, each part at most {args.utilisation:.0%} busy",
        f"saturates first: {first} ({needs.get(first, 0):.2f} cores at the peak hour)",
        f"reminders over {args.borrowers_total:,} borrowers: planning the day "
        f"{plan_seconds:.0f} s of one worker; deciding {due:,.0f} due reminders "
        f"({args.due_share:.1%} of the book) {decide_seconds:.0f} s; sending them "
        f"{send_minutes:.0f} minutes at the gateway's {args.telegram_per_second:.0f} a second "
        "per bot (under Telegram's limit of about 30: the limit, not our cores)",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=Path("var/prod"))
    parser.add_argument("--web", default="http://127.0.0.1:8080", help="nginx's web chat port")
    parser.add_argument("--backend-port", type=int, default=8000, help="nginx's backend port")
    parser.add_argument("--borrowers", type=int, default=8)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--daily-messages", type=int, default=200_000)
    parser.add_argument("--borrowers-total", type=int, default=1_000_000)
    parser.add_argument("--peak-share", type=float, default=0.15)
    parser.add_argument("--utilisation", type=float, default=0.6)
    # make bench-outreach's figures on the 2-core machine (README, Benchmark)
    parser.add_argument("--plan-loans-per-second", type=float, default=16_689)
    parser.add_argument("--decisions-per-second", type=float, default=425)
    parser.add_argument("--due-share", type=float, default=44_984 / 1_000_000)
    # The gateway's pace (TELEGRAM_MESSAGES_PER_SECOND's default), a little under Telegram's 30.
    parser.add_argument("--telegram-per-second", type=float, default=28)
    args = parser.parse_args(argv)
    measured = measure(args.state.resolve(), args.web.rstrip("/"), args.backend_port, args)
    print("\n".join(sizing(measured, args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
