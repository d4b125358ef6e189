"""Web chat load: N simulated borrowers at once, each holding a scripted conversation (Chinese
and English small talk and questions that need no verification; every K-th borrower links the
chat with a one-time link token and asks what they owe), (a) through the gateway's web chat API
and (b) straight to Rasa's REST channel; with `--channel`, also (c) straight to that channel
with the body the gateway sends it (the message, which the channel logs with the backend while
its NLU parses it, and the reading asked back): what the gateway path costs Rasa, without the
gateway. Each borrower sends its next message once the reply
has come. Each concurrency runs `--rounds` times per path (more where that would be fewer than
`--min-messages` messages per path), the two paths taking turns, and the rounds are pooled.
Prints messages/s and latency percentiles per concurrency and path, the ratio gateway/Rasa, and
the CPU each process of the stack spent per answered message on each path (bench/process_cpu.py:
the services found by their ports on this machine, PostgreSQL's processes, this client, the
whole machine). It needs the running stack (`make run`); it is not a test.

    .venv/bin/python -m bench.chat_load [--gateway URL] [--rasa URL] [--borrowers 1,10,30,100]
                                        [--turns 6] [--verified-every 5] [--rounds 3]
                                        [--min-messages 1200] [--channel]

Link tokens come from the running backend's API (one per verified borrower, path and round, made
before the timed runs; SERVICE_TOKEN as for the other services). Each run adds its
conversations to the backend's database and to Rasa's trackers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.process_cpu import CLIENT, MACHINE, POSTGRES, RAN, WAITED, Meter, port_of, spent
from bot.http_transport import AiohttpTransport

DEFAULT_GATEWAY = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
DEFAULT_BACKEND = os.environ.get("BACKEND_URL", "http://127.0.0.1:8000")
DEFAULT_RASA = os.environ.get("RASA_URL", f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}")
DEFAULT_ACTIONS = os.environ.get(
    "ACTION_SERVER_URL", f"http://127.0.0.1:{os.environ.get('ACTION_SERVER_PORT', '5055')}"
)
CPU_PARTS = ("gateway", "rasa", "actions", "backend", POSTGRES, CLIENT, MACHINE)
# Rasa is the bottleneck: the time its event loop stood ready with no core free is throughput
# the other processes took from it (bench/process_cpu.py).
WAITS = ("rasa",)
COLUMNS = (*CPU_PARTS, *(part + RAN for part in WAITS), *(part + WAITED for part in WAITS))
DEMO_BORROWER = "DEMO-03"  # 李强, 12 days past due (README's demo table)
START = "<link token>"  # stands for the path's way of sending the link token
PATHS = ("gateway", "rasa")
# Messages per path at each concurrency, at least (60 before: ten rounds of one borrower). The
# ratio of the two paths at thirty borrowers swung from 0.77 to 0.95 between runs of 540 or 720
# messages minutes apart, from 0.80 to 0.91 between runs of 1,260, and by 0.02 to 0.04 between
# runs of 3,600: each round ends with a few slow borrowers, and the machine's slow moments fall
# on one path or the other.
MIN_MESSAGES = 1200
CHANNEL = "channel"  # Rasa's channel with the gateway's body (--channel)

# Small talk and questions any chat may ask before verification (nlu/INTENTS.md: greet,
# bot_challenge, ask_consequences, scam_concern, out_of_scope, thank, goodbye).
CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    ("你好", "你是机器人吗", "不还会怎样", "你们是真的银行吗", "谢谢", "再见"),
    (
        "hi",
        "what can you do",
        "are you a bot?",
        "what happens if i don't pay",
        "is this really the lender?",
        "thanks",
        "bye",
    ),
    ("hello 你好", "你能做什么", "会影响征信吗", "is this legit", "好的谢谢", "拜拜"),
    (
        "在吗",
        "are you a robot",
        "你们是不是骗子",
        "will this go on my credit report",
        "thank you",
        "再见",
    ),
    (
        "good morning",
        "你是真人吗",
        "逾期会有什么后果",
        "how do i know this is not a scam",
        "多谢",
        "bye",
    ),
)
VERIFIED_OPENING = (START, "我还欠多少钱")


# ---- pure: scripts, statistics, formatting -----------------------------------------------------


def parse_levels(text: str) -> list[int]:
    """ "10,50,100" -> [10, 50, 100]; each at least 1."""
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or min(levels) < 1:
        raise ValueError("concurrency levels are positive integers, e.g. 10,50,100")
    return levels


def is_verified(index: int, every: int) -> bool:
    """Every `every`-th borrower (the 5th, 10th, ... for 5) takes the verified journey."""
    return every > 0 and index % every == every - 1


def script_for(index: int, turns: int, *, verified: bool = False) -> list[str]:
    """The messages of borrower `index`: its conversation cycled to `turns` messages; a
    verified borrower first sends the link token and asks what it owes."""
    conversation = CONVERSATIONS[index % len(CONVERSATIONS)]
    opening = list(VERIFIED_OPENING) if verified and turns >= len(VERIFIED_OPENING) else []
    rest = turns - len(opening)
    return opening + [conversation[i % len(conversation)] for i in range(rest)]


def gateway_message(message: str, token: str | None) -> str:
    return f"/start {token}" if message == START else message


def rasa_message(message: str, token: str | None) -> str:
    # What the gateway turns `/start <token>` into (bot/commands.py).
    return "/verify_token" + json.dumps({"token": token}) if message == START else message


def channel_body(sender: str, message: str) -> dict[str, Any]:
    """What the gateway sends Rasa's channel for a message (bot/rasa_client.py): the message as
    the backend logs it, and its id, so that the channel logs it beside the parse."""
    turn_id = f"g{uuid.uuid4().hex}"
    # The transcript never shows a link token: the gateway logs the command's name.
    shown = "/start (link token)" if message.startswith("/verify_token") else message
    return {
        "sender": sender,
        "message": message,
        "inbound": {
            "text": shown,
            "external_id": turn_id,
            "sent_at": datetime.now(UTC).isoformat(),
            "kind": "text",
        },
        "metadata": {"channel": "webchat", "turn": turn_id},
    }


def plain_body(sender: str, message: str) -> dict[str, Any]:
    return {"sender": sender, "message": message}


def answered(body: Any) -> bool:
    """Replies as the REST channel gives them: a list, or {"replies": [...]} with the reading."""
    return isinstance(body, list) or isinstance((body or {}).get("replies"), list)


def percentiles(latencies_ms: Sequence[float]) -> tuple[float, float, float] | None:
    """p50, p95 and p99 (inclusive method: within the observed range); None without data."""
    if not latencies_ms:
        return None
    if len(latencies_ms) == 1:
        only = float(latencies_ms[0])
        return only, only, only
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


@dataclass(frozen=True)
class Result:
    concurrency: int
    path: str
    messages: int  # sent
    errors: int
    seconds: float  # wall time of the whole level
    latency_ms: tuple[float, float, float] | None  # p50, p95, p99 of the answered messages
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # by process, per answered message

    @property
    def rate(self) -> float:
        """Answered messages per second."""
        return (self.messages - self.errors) / self.seconds if self.seconds > 0 else 0.0

    @property
    def p95(self) -> float | None:
        return self.latency_ms[1] if self.latency_ms else None


def summarise(
    concurrency: int,
    path: str,
    latencies_ms: Sequence[float],
    error_kinds: Counter[str],
    seconds: float,
    cpu_seconds: dict[str, float] | None = None,
) -> Result:
    errors = sum(error_kinds.values())
    answered = len(latencies_ms)
    return Result(
        concurrency=concurrency,
        path=path,
        messages=len(latencies_ms) + errors,
        errors=errors,
        seconds=seconds,
        latency_ms=percentiles(latencies_ms),
        error_kinds=dict(error_kinds),
        cpu_ms={part: 1000 * v / answered for part, v in (cpu_seconds or {}).items()}
        if answered
        else {},
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def format_table(results: Sequence[Result]) -> list[str]:
    header = (
        f"{'concurrency':>11}  {'path':<7}  {'messages':>8}  {'msgs/s':>7}  "
        f"{'p50 ms':>7}  {'p95 ms':>7}  {'p99 ms':>7}  {'errors':>6}"
    )
    lines = [header]
    for r in results:
        p50, p95, p99 = r.latency_ms or (None, None, None)
        lines.append(
            f"{r.concurrency:>11}  {r.path:<7}  {r.messages:>8,}  {_number(r.rate, 1):>7}  "
            f"{_number(p50):>7}  {_number(p95):>7}  {_number(p99):>7}  {r.errors:>6,}"
        )
    return lines


def format_ratios(results: Sequence[Result]) -> list[str]:
    """gateway/rasa (and channel/rasa, when measured) per concurrency: below 1 for msgs/s and
    above 1 for p95 is what the path adds."""
    by_key = {(r.concurrency, r.path): r for r in results}
    paths = ["gateway"] + ([CHANNEL] if any(r.path == CHANNEL for r in results) else [])
    header = f"{'concurrency':>11}" + "".join(
        f"  {f'msgs/s {p}/rasa':>19}  {f'p95 {p}/rasa':>16}" for p in paths
    )
    lines = [header]
    for concurrency in sorted({r.concurrency for r in results}):
        rasa = by_key.get((concurrency, "rasa"))
        if rasa is None or (concurrency, "gateway") not in by_key:
            continue
        cells = ""
        for p in paths:
            other = by_key.get((concurrency, p))
            rate = ratio(other.rate, rasa.rate) if other else None
            p95 = ratio(other.p95, rasa.p95) if other else None
            cells += f"  {_number(rate, 2):>19}  {_number(p95, 2):>16}"
        lines.append(f"{concurrency:>11}{cells}")
    return lines


def format_cpu(results: Sequence[Result]) -> list[str]:
    """CPU ms per answered message by process: where the gateway path's extra cost lands."""
    if not any(r.cpu_ms for r in results):
        return []
    lines = [
        "CPU ms per answered message (/proc; - where this machine shows no such process);",
        "rasa-loop: ms Rasa's event loop ran (its main thread; (loop + wait) x msgs/s near 1000",
        "means the loop was never idle); rasa-wait: ms it stood ready to run with no core free:",
        f"{'concurrency':>11}  {'path':<7}  " + "  ".join(f"{part:>9}" for part in COLUMNS),
    ]
    for r in results:
        cells = "  ".join(f"{_number(r.cpu_ms.get(part), 1):>9}" for part in COLUMNS)
        lines.append(f"{r.concurrency:>11}  {r.path:<7}  {cells}")
    return lines


def format_errors(results: Sequence[Result]) -> list[str]:
    return [
        f"[{r.path} x{r.concurrency}] errors: "
        + ", ".join(f"{kind} x{count}" for kind, count in sorted(r.error_kinds.items()))
        for r in results
        if r.error_kinds
    ]


# ---- I/O: link tokens, the simulated borrowers -------------------------------------------------


class BenchError(Exception):
    """A condition that ends the benchmark with one line."""


async def link_tokens(
    client: httpx.AsyncClient, backend: str, service_token: str, count: int, borrower: str
) -> list[str]:
    """`count` fresh one-time link tokens for the borrower, from the running backend's API."""
    tokens: list[str] = []
    for _ in range(count):
        try:
            response = await client.post(
                f"{backend}/api/v1/borrowers/{borrower}/link-tokens",
                headers={"Authorization": f"Bearer {service_token}"},
            )
        except httpx.TransportError as exc:
            raise BenchError(f"the backend is not reachable at {backend}") from exc
        if response.is_error:
            raise BenchError(
                f"{backend} gave no link token for {borrower} (HTTP {response.status_code}): "
                "check SERVICE_TOKEN, or leave the verified journeys out with --verified-every 0"
            )
        tokens.append(str(response.json()["token"]))
    return tokens


async def open_session(client: httpx.AsyncClient, gateway: str) -> tuple[str, dict[str, str]]:
    """A new web chat: its sender id and the header every call of that chat carries."""
    response = await client.post(f"{gateway}/webchat/sessions")
    client.cookies.clear()  # one client for every borrower: each says its own token
    if response.is_error:
        raise BenchError(
            f"{gateway} does not serve the web chat API "
            f"(POST /webchat/sessions answered HTTP {response.status_code})"
        )
    body = response.json()
    return str(body["sender"]), {"Authorization": f"Bearer {body['token']}"}


async def check_reachable(client: httpx.AsyncClient, gateway: str, rasa: str) -> None:
    try:
        _, auth = await open_session(client, gateway)
        response = await client.get(f"{gateway}/webchat/history", headers=auth)
    except httpx.TransportError as exc:
        raise BenchError(
            f"the gateway is not reachable at {gateway}: start the stack with `make run`"
        ) from exc
    if response.is_error:
        raise BenchError(
            f"{gateway} does not serve the web chat API "
            f"(GET /webchat/history answered HTTP {response.status_code})"
        )
    try:
        response = await client.get(f"{rasa}/")
    except httpx.TransportError as exc:
        raise BenchError(
            f"Rasa is not reachable at {rasa}: start the stack with `make run`"
        ) from exc
    if response.is_error:
        raise BenchError(
            f"{rasa} does not answer like Rasa (GET / answered {response.status_code})"
        )


class RasaAuth(httpx.Auth):
    """Rasa's REST channel answers 401 without the gateway's bearer token (nlu/channels.py);
    only requests to Rasa get it."""

    def __init__(self, rasa: str, token: str) -> None:
        self.rasa, self.token = rasa, token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if str(request.url).startswith(self.rasa):
            request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def converse(
    client: httpx.AsyncClient,
    url: str,
    sender: str,
    messages: Sequence[str],
    latencies_ms: list[float],
    errors: Counter[str],
    headers: dict[str, str] | None = None,
    body_of: Callable[[str, str], dict[str, Any]] = plain_body,
) -> None:
    """One borrower: each message after the previous reply; failures are counted, not fatal."""
    for message in messages:
        started = time.perf_counter()
        try:
            response = await client.post(url, json=body_of(sender, message), headers=headers)
            ok = response.status_code == 200 and answered(response.json())
            kind = "" if ok else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            kind = type(exc).__name__
        except ValueError:
            kind = "not JSON"
        if kind:
            errors[kind] += 1
        else:
            latencies_ms.append((time.perf_counter() - started) * 1000)


@dataclass
class Pooled:
    """One path's rounds at one concurrency, taken together."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu: Counter[str] = field(default_factory=Counter)  # CPU seconds by process


async def run_level(
    client: httpx.AsyncClient,
    *,
    url: str,
    concurrency: int,
    scripts: Sequence[Sequence[str]],
    tokens: Sequence[str | None],
    sender_of: Callable[[int], str],
    message_of: Callable[[str, str | None], str],
    latencies: list[float],
    errors: Counter[str],
    headers: Sequence[dict[str, str]] = (),
    body_of: Callable[[str, str], dict[str, Any]] = plain_body,
) -> float:
    """One round of `concurrency` borrowers at once; its seconds (latencies and errors are
    added to the given lists)."""
    started = time.perf_counter()
    await asyncio.gather(
        *(
            converse(
                client,
                url,
                sender_of(i),
                [message_of(m, tokens[i]) for m in scripts[i]],
                latencies,
                errors,
                headers[i] if headers else None,
                body_of,
            )
            for i in range(concurrency)
        )
    )
    return time.perf_counter() - started


def rounds_at(borrowers: int, turns: int, rounds: int, min_messages: int) -> int:
    """`rounds`, or more where that many would send fewer than `min_messages` per path: with
    one borrower, three rounds are 18 messages, and their p95 is little more than the slowest."""
    return max(rounds, -(-min_messages // (borrowers * turns)))


async def bench(args: argparse.Namespace) -> list[Result]:
    levels: list[int] = args.borrowers
    paths = (*PATHS, CHANNEL) if args.channel else PATHS
    gateway, rasa = args.gateway.rstrip("/"), args.rasa.rstrip("/")
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(120.0, connect=5.0),
        auth=RasaAuth(rasa, args.rasa_token),
        # The gateway's transport: httpx's own cost this process 2 to 10 ms of CPU a message,
        # taken from the cores of the stack it measures.
        transport=AiohttpTransport(max_connections=max(levels) + 10),
    ) as client:
        await check_reachable(client, gateway, rasa)
        ports = {"gateway": gateway, "rasa": rasa, "actions": args.actions, "backend": args.backend}
        meter = Meter({part: port_of(url) for part, url in ports.items()}, waits=WAITS)

        every = args.verified_every if args.turns >= len(VERIFIED_OPENING) else 0
        verified = {n: [is_verified(i, every) for i in range(n)] for n in levels}
        rounds = {n: rounds_at(n, args.turns, args.rounds, args.min_messages) for n in levels}
        needed = len(paths) * sum(rounds[n] * sum(verified[n]) for n in levels)
        minted: list[str] = []
        if needed:
            t0 = time.perf_counter()
            minted = await link_tokens(
                client, args.backend.rstrip("/"), args.service_token, needed, DEMO_BORROWER
            )
            print(
                f"{needed} link tokens for {DEMO_BORROWER} in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        # Warm both paths up (model loading, connections); not measured.
        warm, auth = await open_session(client, gateway)
        await converse(
            client, f"{gateway}/webchat/messages", warm, ["你好"], [], Counter(), headers=auth
        )
        await converse(
            client,
            f"{rasa}/webhooks/rest/webhook",
            f"webchat:bench-{run}-rasa-warm",
            ["hi"],
            [],
            Counter(),
        )

        results: list[Result] = []
        for n in levels:
            scripts = [script_for(i, args.turns, verified=verified[n][i]) for i in range(n)]
            pooled = {path: Pooled() for path in paths}
            # The two paths take turns, round after round: a slow moment of the machine
            # weighs on both alike.
            for round_no, path in itertools.product(range(rounds[n]), paths):
                pool = pooled[path]
                tokens = [minted.pop() if flag else None for flag in verified[n]]
                chats: list[tuple[str, dict[str, str]]] = []
                body_of = channel_body if path == CHANNEL else plain_body
                if path == "gateway":
                    url, message_of = f"{gateway}/webchat/messages", gateway_message
                    # Each borrower's chat, opened before the clock starts.
                    chats = [await open_session(client, gateway) for _ in range(n)]
                    senders = [sender for sender, _ in chats]
                else:
                    url, message_of = f"{rasa}/webhooks/rest/webhook", rasa_message
                    if path == CHANNEL:
                        url += "?reading=true"
                    senders = [f"webchat:bench-{run}-{path}-{n}-{round_no}-{i}" for i in range(n)]

                before = meter.read()
                pool.seconds += await run_level(
                    client,
                    url=url,
                    concurrency=n,
                    scripts=scripts,
                    tokens=tokens,
                    sender_of=senders.__getitem__,
                    message_of=message_of,
                    latencies=pool.latencies,
                    errors=pool.errors,
                    headers=[auth for _, auth in chats],
                    body_of=body_of,
                )
                pool.cpu.update(spent(before, meter.read()))
            for path, pool in pooled.items():
                result = summarise(
                    n, path, pool.latencies, pool.errors, pool.seconds, dict(pool.cpu)
                )
                print(
                    f"[{path}] {n} borrowers, {rounds[n]} rounds: {result.messages:,} messages"
                    f" in {result.seconds:.1f} s = {result.rate:,.1f} msgs/s,"
                    f" {result.errors} errors",
                    flush=True,
                )
                results.append(result)
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gateway", default=DEFAULT_GATEWAY, help="default: $GATEWAY_URL or :8080")
    parser.add_argument("--rasa", default=DEFAULT_RASA, help="default: $RASA_URL or :5005")
    parser.add_argument(
        "--rasa-token",
        default=os.environ.get("RASA_TOKEN", "dev-rasa-token"),
        help="default: $RASA_TOKEN",
    )
    parser.add_argument(
        "--actions",
        default=DEFAULT_ACTIONS,
        help="only to find its process for the CPU figures; default: $ACTION_SERVER_URL or :5055",
    )
    parser.add_argument(
        "--backend",
        default=DEFAULT_BACKEND,
        help="for link tokens and its CPU; default: $BACKEND_URL or :8000",
    )
    parser.add_argument(
        "--service-token",
        default=os.environ.get("SERVICE_TOKEN", "dev-service-token"),
        help="default: $SERVICE_TOKEN",
    )
    parser.add_argument("--borrowers", type=parse_levels, default=[1, 10, 30, 100])
    parser.add_argument("--turns", type=int, default=6, help="messages per borrower")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="each concurrency this many times per path, the paths taking turns (pooled)",
    )
    parser.add_argument(
        "--min-messages",
        type=int,
        default=MIN_MESSAGES,
        help=f"more rounds where --rounds would send fewer messages per path (default "
        f"{MIN_MESSAGES})",
    )
    parser.add_argument(
        "--verified-every",
        type=int,
        default=5,
        metavar="K",
        help="every K-th borrower verifies with a link token and asks its balance (0: none)",
    )
    parser.add_argument(
        "--channel",
        action="store_true",
        help="also Rasa's channel straight, with the body the gateway sends (what the gateway "
        "path costs Rasa and the backend, without the gateway)",
    )
    args = parser.parse_args(argv)
    if args.turns < 1:
        parser.error("--turns: at least 1")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    print(
        f"web chat load: {args.turns} messages per borrower, concurrency {args.borrowers}, "
        f"gateway {args.gateway}, rasa {args.rasa}",
        flush=True,
    )
    try:
        results = asyncio.run(bench(args))
    except BenchError as exc:
        print(exc, file=sys.stderr)
        return 1
    print()
    print("\n".join(format_table(results)))
    print()
    print("\n".join(format_ratios(results)))
    if cpu := format_cpu(results):
        print()
        print("\n".join(cpu))
    for line in format_errors(results):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
