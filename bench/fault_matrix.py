"""The fault matrix: `make run-prod`'s topology (bench/topology.py starts it, Telegram and
metrics on) with borrowers talking to it through nginx on the web chat and on Telegram, while
one fault at a time hits it:

  rasa       kill -9 of a Rasa replica while it runs a turn (the supervisor starts it again,
             as compose would)
  gateway    kill -9 of a gateway replica while it handles a borrower message
  backend    kill -9 of a backend replica while it serves a request
  postgres   PostgreSQL restarted (pg_ctl restart -m fast)
  redis      Redis stopped for 30 s, then started again
  actions    both action servers answering in up to 5 s for 60 s (SIGSTOP/SIGCONT cycles)
  actions-killed  kill -9 of both action servers at once, while one runs an action (the
             supervisor starts them again)
  telegram   the Bot API answering 429 (retry after 1 s) for 30 s, then 502 for 30 s

For each it prints what the borrowers saw (bench/fault_load.py) and what the replicas'
Prometheus metrics counted (bench/replica_counters.py). It is not a test
(tests/prod/test_fault_matrix.py runs it shorter and asserts on it).

    .venv/bin/python -m bench.fault_matrix [--cases rasa,redis] [--short] [--state DIR]

What the figures mean:
- sent: borrower messages typed during the case (a re-send after a notice is not another one);
- answered: the assistant's answer to it arrived: in the web chat call's response, in the
  chat's history, or on Telegram; a "try again shortly" notice is not an answer: like a
  borrower, the load generator sends the message again a few seconds after one, and the
  message is answered when an answer to it (or to its re-send) arrives;
- late: answered more than LATE_SECONDS after it was first sent;
- lost: no answer within GRACE_SECONDS after the fault ended;
- notices: "try again shortly" replies shown (the gateway's and the actions');
- traces: replies that look like a stack trace or an exception (must be 0);
- a web chat call that fails on the way (connection refused or reset, nginx's 502/503/504, no
  answer in 60 s) is sent again with the same message id, as the page does; the backend logs
  a message id once (`dup logs` counts messages logged twice in a borrower's history).
The metrics columns are increases over the case, summed over the replicas' /metrics, a counter
that starts again from 0 (a killed replica restarted) counted from there; a killed replica's
last second before the kill is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.chat_load import CONVERSATIONS
from bench.fault_load import (
    Borrower,
    Load,
    Sent,
    TelegramBorrower,
    TelegramChats,
    WebBorrower,
    converse,
    in_seconds,
    read_histories,
)
from bench.replica_counters import SCRAPE_SECONDS, Counts, Metrics, total
from bench.topology import Topology, TopologyFailed, running

LATE_SECONDS = 10.0
GRACE_SECONDS = 60.0
WARM_SECONDS = 5.0  # load before the fault
RECOVERY_SECONDS = 10.0  # load after it
VERIFIED_SCRIPT = ("我还欠多少钱", "什么时候到期", "查一下还款记录", "谢谢")


# ---- the faults --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    kill_after: float = 30.0  # load after a kill
    redis_down: float = 30.0
    actions_slow: float = 60.0
    action_delay: float = 5.0
    telegram_429: float = 30.0
    telegram_5xx: float = 30.0


SHORT = Timing(
    kill_after=15.0, redis_down=30.0, actions_slow=20.0, telegram_429=12.0, telegram_5xx=12.0
)

Fault = Callable[[Topology, Timing], Awaitable[str]]


Working = Callable[[Topology, str], Awaitable[bool]]  # wait until the replica is at work


def _kill(name: str, working: Working) -> Fault:
    """kill -9 of the replica once it is at work (so the kill cuts something off), or after
    10 s of waiting for that; the supervisor starts it again, as compose does."""

    async def fault(top: Topology, timing: Timing) -> str:
        was_working = await working(top, name)
        pid = top.signal(name, signal.SIGKILL)
        await asyncio.sleep(timing.kill_after)
        when = "at work" if was_working else "idle (seen at no work for 10 s)"
        return f"pid {pid} killed {when}; started again as pid {top.pid(name)}"

    return fault


def _kill_every(service: str) -> Fault:
    """kill -9 of every replica of `service` at once, once the first is at work (or after 10 s
    of waiting for that): no replica is left to answer until the supervisor has started them
    again."""

    async def fault(top: Topology, timing: Timing) -> str:
        names = [r.name for r in top.replicas(service)]
        was_working = await on_the_cpu(top, names[0])
        pids = [top.signal(name, signal.SIGKILL) for name in names]
        await asyncio.sleep(timing.kill_after)
        when = "at work" if was_working else "idle (seen at no work for 10 s)"
        again = ", ".join(str(top.pid(name)) for name in names)
        return (
            f"pids {', '.join(map(str, pids))} killed, {names[0]} {when}; started again as {again}"
        )

    return fault


async def on_the_cpu(top: Topology, name: str, seconds: float = 10.0) -> bool:
    """Until the process uses the CPU (a turn, a request); whether it did within `seconds`."""
    pid = top.pid(name)
    give_up = time.monotonic() + seconds
    last = cpu_ticks(pid)
    while time.monotonic() < give_up:
        await asyncio.sleep(0.05)
        now = cpu_ticks(pid)
        if now > last:
            return True
        last = now
    return False


def cpu_ticks(pid: int) -> int:
    """The CPU time the process (all its threads) has used, in clock ticks: utime + stime."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after_name[11]) + int(after_name[12])  # fields 14 and 15 of proc(5)


async def handling_a_message(top: Topology, name: str, seconds: float = 10.0) -> bool:
    """Until the gateway replica is handling a borrower message (gateway_messages_in_progress
    on its /metrics); whether it was within `seconds`."""
    url = f"http://127.0.0.1:{top.port(name)}/metrics"
    auth = {"Authorization": f"Bearer {top.metrics_token}"}
    give_up = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < give_up:
            with contextlib.suppress(httpx.HTTPError):
                text = (await client.get(url, headers=auth)).text
                if in_progress(text) > 0:
                    return True
            await asyncio.sleep(0.02)
    return False


def in_progress(metrics: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "gateway_messages_in_progress"
    )


async def _restart_postgres(top: Topology, timing: Timing) -> str:
    started = time.monotonic()
    await asyncio.to_thread(top.postgres.restart)
    took = time.monotonic() - started
    await asyncio.sleep(5)
    return f"pg_ctl restart -m fast took {took:.1f} s"


async def _stop_redis(top: Topology, timing: Timing) -> str:
    redis = top.redis
    await asyncio.to_thread(redis.stop)
    try:
        await asyncio.sleep(timing.redis_down)
    finally:
        await asyncio.to_thread(redis.start)
    return f"down {timing.redis_down:.0f} s"


async def _slow_actions(top: Topology, timing: Timing) -> str:
    names = [r.name for r in top.replicas("actions")]
    cycles = 0
    ends = time.monotonic() + timing.actions_slow
    try:
        while time.monotonic() < ends:
            for n in names:
                top.signal(n, signal.SIGSTOP)
            await asyncio.sleep(timing.action_delay)
            for n in names:
                top.signal(n, signal.SIGCONT)
            cycles += 1
            await asyncio.sleep(0.2)
    finally:
        for n in names:
            top.signal(n, signal.SIGCONT)
    return f"{cycles} cycles of {timing.action_delay:.0f} s stopped"


async def _telegram_failing(top: Topology, timing: Timing) -> str:
    fake = top.telegram
    if fake is None:
        raise TopologyFailed("the telegram case needs Telegram on in the topology")
    await asyncio.to_thread(fake.fail, 429, timing.telegram_429, 1)
    await asyncio.sleep(timing.telegram_429)
    await asyncio.to_thread(fake.fail, 502, timing.telegram_5xx)
    await asyncio.sleep(timing.telegram_5xx)
    await asyncio.to_thread(fake.fail, 0, 0)
    return f"429 for {timing.telegram_429:.0f} s, then 502 for {timing.telegram_5xx:.0f} s"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    fault: Fault


CASES = (
    Case("rasa", "kill -9 of a Rasa replica", _kill("rasa-1", on_the_cpu)),
    Case("gateway", "kill -9 of a gateway replica", _kill("gateway-1", handling_a_message)),
    Case("backend", "kill -9 of a backend replica", _kill("backend-1", on_the_cpu)),
    Case("postgres", "PostgreSQL restarted", _restart_postgres),
    Case("redis", "Redis stopped, started again", _stop_redis),
    Case("actions", "action servers answering in 5 s", _slow_actions),
    Case("actions-killed", "kill -9 of both action servers", _kill_every("actions")),
    Case("telegram", "Bot API 429, then 5xx", _telegram_failing),
)


# ---- one case, then the matrix -----------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    note: str
    load: Load
    metrics: Counts
    seconds: float

    @property
    def answered(self) -> list[Sent]:
        return [m for m in self.load.sent if m.answered_at is not None]

    @property
    def late(self) -> list[Sent]:
        return [m for m in self.answered if (m.seconds or 0) > LATE_SECONDS]

    @property
    def lost(self) -> list[Sent]:
        return [m for m in self.load.sent if m.answered_at is None]

    @property
    def slowest(self) -> float | None:
        return max((m.seconds or 0 for m in self.answered), default=None)


@dataclass(frozen=True)
class LoadShape:
    web: int = 6
    telegram: int = 2
    verified: Sequence[str] = ()  # borrower refs: one web chat linked to each


async def link_token(client: httpx.AsyncClient, top: Topology, ref: str) -> str:
    r = await client.post(
        f"{top.http}/api/v1/borrowers/{ref}/link-tokens",
        headers={"Authorization": f"Bearer {top.backend_env['SERVICE_TOKEN']}"},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["token"])


async def borrowers_for(
    client: httpx.AsyncClient, top: Topology, shape: LoadShape, chats: TelegramChats | None
) -> list[Borrower]:
    web: list[WebBorrower] = []
    for i in range(shape.web):
        verified = i < len(shape.verified)
        script = VERIFIED_SCRIPT if verified else CONVERSATIONS[i % len(CONVERSATIONS)]
        b = WebBorrower(client, top.web, f"webchat:{i}", script)
        await b.open()
        if verified:  # linked before the clock starts
            token = await link_token(client, top, shape.verified[i])
            m = Sent("webchat", b.name, f"/start {token}", time.monotonic())
            await b.send(Load(), m, in_seconds(120))
            b.before.append(m)
        web.append(b)
    tele: list[Borrower] = []
    if chats is not None:
        for i in range(shape.telegram):
            user_id = random.randint(10**8, 10**9)
            script = CONVERSATIONS[(i + 2) % len(CONVERSATIONS)]
            tele.append(TelegramBorrower(client, chats, user_id, script))
    return [*web, *tele]


async def run_case(
    top: Topology, case: Case, timing: Timing, shape: LoadShape, say: Callable[[str], None]
) -> Outcome:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    async with httpx.AsyncClient(limits=limits) as client:
        chats = (
            TelegramChats(client, top.telegram.url, top.telegram.token)
            if top.telegram is not None and shape.telegram
            else None
        )
        borrowers = await borrowers_for(client, top, shape, chats)
        metrics = Metrics(top, client)
        await metrics.once()
        stop, scraping = asyncio.Event(), asyncio.Event()
        load = Load()
        fault_end: list[float] = []

        def deadline() -> float:
            return (fault_end[0] if fault_end else time.monotonic() + 3600) + GRACE_SECONDS

        background = [asyncio.create_task(metrics.follow(scraping))]
        if chats is not None:
            background.append(asyncio.create_task(chats.follow(scraping)))
        before = metrics.snapshot()
        began = time.monotonic()
        talking = [asyncio.create_task(converse(b, load, stop, deadline)) for b in borrowers]
        await asyncio.sleep(WARM_SECONDS)
        say(f"[{case.name}] {case.title}: fault on")
        note = await case.fault(top, timing)
        fault_end.append(time.monotonic())
        say(f"[{case.name}] fault over ({note}); {RECOVERY_SECONDS:.0f} s more load")
        await asyncio.sleep(RECOVERY_SECONDS)
        stop.set()
        await asyncio.gather(*talking)
        web = [b for b in borrowers if isinstance(b, WebBorrower)]
        await read_histories(load, web)
        await asyncio.sleep(2 * SCRAPE_SECONDS)  # the last replies counted
        scraping.set()
        await asyncio.gather(*background)
        await metrics.once()
        after = metrics.snapshot()
        grown: Counts = defaultdict(float, {k: v - before[k] for k, v in after.items()})
        return Outcome(case, note, load, grown, time.monotonic() - began)


def _n(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(outcomes: Sequence[Outcome]) -> list[str]:
    head = (
        f"{'case':<9} {'fault':<34} {'sent':>5} {'answered':>8} {'late':>5} {'lost':>5} "
        f"{'slowest s':>9} {'notices':>7} {'retries':>7} {'traces':>6} {'dup logs':>8}"
    )
    lines = [head, "-" * len(head)]
    for o in outcomes:
        retries = sum(m.transport_retries for m in o.load.sent)
        lines.append(
            f"{o.case.name:<9} {o.case.title:<34} {len(o.load.sent):>5} {len(o.answered):>8} "
            f"{len(o.late):>5} {len(o.lost):>5} {_n(o.slowest):>9} "
            f"{sum(m.notices for m in o.load.sent):>7} {retries:>7} {len(o.load.traces):>6} "
            f"{o.load.duplicated_logs:>8}"
        )
    return lines


def format_metrics(outcomes: Sequence[Outcome]) -> list[str]:
    head = (
        f"{'case':<9} {'gw calls':>8} {'received':>8} {'answered':>8} {'asst down':>9} "
        f"{'kept':>5} {'duplicate':>9} {'replies':>7} {'rasa err':>8} {'rasa retry':>10} "
        f"{'tg retry':>8} {'backend 5xx':>11}"
    )
    lines = [head, "-" * len(head)]
    for o in outcomes:
        c = o.metrics
        received = "gateway_messages_received_total"

        def outcome(name: str, c: Counts = c, received: str = received) -> int:
            return round(total(c, received, outcome=name))

        lines.append(
            f"{o.case.name:<9} {o.load.gateway_attempts:>8} {round(total(c, received)):>8} "
            f"{outcome('answered'):>8} {outcome('assistant_down'):>9} {outcome('kept'):>5} "
            f"{outcome('duplicate'):>9} {round(total(c, 'gateway_replies_sent_total')):>7} "
            f"{round(total(c, 'gateway_rasa_errors_total')):>8} "
            f"{round(total(c, 'gateway_rasa_retries_total')):>10} "
            f"{round(total(c, 'gateway_telegram_send_retries_total')):>8} "
            f"{round(total(c, 'backend_http_server_errors_total')):>11}"
        )
    return lines


def format_details(outcomes: Sequence[Outcome]) -> list[str]:
    """What went wrong, message by message: the lost ones and the traces."""
    lines: list[str] = []
    for o in outcomes:
        for m in o.lost:
            lines.append(
                f"[{o.case.name}] lost: {m.channel} {m.text!r} notices {m.notices}, "
                f"re-sent {m.resends}, calls {dict(m.statuses)}"
            )
        for text in o.load.traces:
            lines.append(f"[{o.case.name}] trace shown: {text!r}")
        kinds = {
            f"{dict(key).get('call')}/{dict(key).get('kind')}": round(v)
            for (name, key), v in o.metrics.items()
            if name == "gateway_rasa_errors_total" and v
        }
        if kinds:
            lines.append(f"[{o.case.name}] gateway_rasa_errors_total: {kinds}")
    return lines


async def run_matrix(
    top: Topology,
    cases: Sequence[Case] = CASES,
    *,
    timing: Timing = Timing(),
    shape: LoadShape = LoadShape(),
    say: Callable[[str], None] = print,
) -> list[Outcome]:
    outcomes = []
    for i, case in enumerate(cases):
        if i:
            healed = await asyncio.to_thread(top.wait_until_healthy)
            say(f"every replica healthy again ({healed:.0f} s)")
        outcome = await run_case(top, case, timing, shape, say)
        say(
            f"[{case.name}] {len(outcome.load.sent)} sent, {len(outcome.answered)} answered, "
            f"{len(outcome.lost)} lost in {outcome.seconds:.0f} s"
        )
        for line in format_details([outcome]):
            say(line)
        outcomes.append(outcome)
    return outcomes


def report(outcomes: Sequence[Outcome]) -> str:
    return "\n".join(
        [
            f"Borrowers (late: answered after {LATE_SECONDS:.0f} s; lost: no answer "
            f"{GRACE_SECONDS:.0f} s after the fault ended):",
            *format_table(outcomes),
            "",
            "Metrics (increases over each case, all replicas):",
            *format_metrics(outcomes),
            *(["", *format_details(outcomes)] if format_details(outcomes) else []),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [c.name for c in CASES]
    parser.add_argument(
        "--cases",
        default=",".join(names),
        help=f"which, in this order (default: all: {','.join(names)})",
    )
    parser.add_argument("--short", action="store_true", help="shorter faults (as the test runs)")
    parser.add_argument("--state", type=Path, help="the topology's folder (default: a new one)")
    parser.add_argument("--web", type=int, default=6, help="web chat borrowers (default 6)")
    parser.add_argument("--telegram", type=int, default=2, help="Telegram borrowers (default 2)")
    args = parser.parse_args(argv)
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(names)}")
    cases = [next(c for c in CASES if c.name == n) for n in chosen]
    state = args.state or Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    print(f"starting make run-prod's topology in {state} (a few minutes)", flush=True)
    try:
        with running(state) as top:
            print(f"ready; borrowers through {top.web}", flush=True)
            top.backend_cli("generate", "--borrowers", "4", "--seed", "7")
            shape = LoadShape(web=args.web, telegram=args.telegram, verified=("G00000001",))
            outcomes = asyncio.run(
                run_matrix(
                    top,
                    cases,
                    timing=SHORT if args.short else Timing(),
                    shape=shape,
                    say=lambda line: print(line, flush=True),
                )
            )
    except TopologyFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    print()
    print(report(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
