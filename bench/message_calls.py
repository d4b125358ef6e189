"""The backend's two calls for every borrower message, one at a time: `/inbound` (the message
in, as the gateway logs it; a chat's first message, which opens the chat, tallied apart as
`first`; as many again in calls of BATCH to `/api/v1/inbound`, as Rasa's channel logs the
messages that reach it together: `inbounds`) and the turn (the NLU reading and the
replies): half the first messages' turns on their own (`/messages/{id}/turn`, as the gateway
sends a turn again), half in calls of BATCH (`/turns`, as the gateway logs the turns of a
moment). Prints the CPU in the backend process (from /proc, the process found by the port it
listens on) and in PostgreSQL, and the wall time, per call (per turn or message for the
batched ones).

    .venv/bin/python -m bench.message_calls [--backends URL[,URL...]] [--calls 500] [--rounds 3]
                                            [--at-once 1]

With several backends (another checkout's, started on another port against the same
database), the rounds take turns between them, so a slow moment of the machine weighs on each
alike: how a change to those calls is measured. It needs the running stack (`make run`) or a
backend; each run adds its chats to the database. It is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.process_cpu import port_of, postgres_seconds, processes, tree_seconds
from bench.profile import pid_on
from bot.http_transport import AiohttpTransport

DEFAULT_BACKEND = os.environ.get("BACKEND_URL", "http://127.0.0.1:8000")
CHATS = 20  # the calls go round this many chats, as borrowers' messages do
BATCH = 6  # turns a call: about what a tenth of a second brings with thirty borrowers chatting
REPLIES = [
    {"sender": "bot", "text": "您好！我是您的借款服务助手。", "buttons": None},
    {"sender": "bot", "text": "What can I do?", "buttons": [{"title": "余额", "payload": "/ask"}]},
]


@dataclass
class Tally:
    calls: int = 0
    backend: float = 0.0  # CPU seconds
    postgres: float = 0.0
    wall: float = 0.0

    def line(self, name: str) -> str:
        per = 1000 / max(self.calls, 1)
        each = {"turns": "turn", "inbounds": "message"}.get(name)
        count = f"{self.calls:,} {each}s in calls of {BATCH}" if each else f"{self.calls:,} calls"
        each = each or "call"
        return (
            f"{name:>8}: {count}, backend {self.backend * per:.2f} ms CPU,"
            f" PostgreSQL {self.postgres * per:.2f} ms, wall {self.wall * per:.2f} ms a {each}"
        )


@dataclass
class Backend:
    url: str
    pid: int
    tallies: dict[str, Tally] = field(
        default_factory=lambda: {
            "first": Tally(),
            "inbound": Tally(),
            "inbounds": Tally(),
            "turn": Tally(),
            "turns": Tally(),
        }
    )


def cpu_now(backend: Backend) -> tuple[float, float]:
    table = processes()
    return tree_seconds(backend.pid, table), postgres_seconds(table) or 0.0


async def one_round(
    client: httpx.AsyncClient, backend: Backend, calls: int, at_once: int = 1
) -> None:
    """`calls` messages in (`at_once` at a time), then a turn for each (every other one in a
    batch), each kind timed as a whole."""
    chats = [
        f"/api/v1/conversations/webchat/bench-calls-{uuid.uuid4().hex[:10]}" for _ in range(CHATS)
    ]
    logged: list[tuple[str, str, int]] = []
    # Each chat's first message (it opens the chat), then the rest: two tallies.
    slots = asyncio.Semaphore(at_once)

    def message(i: int) -> dict[str, Any]:
        return {
            "text": f"hello {i}",
            "external_id": uuid.uuid4().hex,
            "sent_at": datetime.now(UTC).isoformat(),
            "kind": "text",
        }

    async def message_in(i: int) -> None:
        chat, body = chats[i % CHATS], message(i)
        external_id = body["external_id"]
        async with slots:
            r = await client.post(f"{backend.url}{chat}/inbound", json=body)
        r.raise_for_status()
        logged.append((chat, external_id, r.json()["message_id"]))

    for kind, numbers in (("first", range(CHATS)), ("inbound", range(CHATS, calls))):
        cpu, started = cpu_now(backend), time.perf_counter()
        await asyncio.gather(*(message_in(i) for i in numbers))
        wall = time.perf_counter() - started
        add(backend.tallies[kind], len(numbers), cpu, cpu_now(backend), wall)
    logged.sort(key=lambda row: row[2])  # the turns in the messages' order

    # As many again in calls of BATCH, as Rasa's channel logs the messages of a moment.
    numbers = range(CHATS, calls)
    cpu, started = cpu_now(backend), time.perf_counter()
    for at in range(0, len(numbers), BATCH):
        messages = [
            {"channel": "webchat", "user_id": chats[i % CHATS].rsplit("/", 1)[1], **message(i)}
            for i in numbers[at : at + BATCH]
        ]
        r = await client.post(f"{backend.url}/api/v1/inbound", json={"messages": messages})
        r.raise_for_status()
        assert all("message_id" in result for result in r.json()["results"]), r.text
    wall = time.perf_counter() - started
    add(backend.tallies["inbounds"], len(numbers), cpu, cpu_now(backend), wall)

    alone, batched = logged[::2], logged[1::2]
    cpu, started = cpu_now(backend), time.perf_counter()
    for chat, external_id, message_id in alone:
        r = await client.post(
            f"{backend.url}{chat}/messages/{message_id}/turn", json=turn_of(external_id)
        )
        r.raise_for_status()
    add(backend.tallies["turn"], len(alone), cpu, cpu_now(backend), time.perf_counter() - started)

    cpu, started = cpu_now(backend), time.perf_counter()
    for at in range(0, len(batched), BATCH):
        turns = [
            {
                "channel": "webchat",
                "user_id": chat.rsplit("/", 1)[1],
                "message_id": message_id,
                **turn_of(external_id),
            }
            for chat, external_id, message_id in batched[at : at + BATCH]
        ]
        r = await client.post(f"{backend.url}/api/v1/turns", json={"turns": turns})
        r.raise_for_status()
    add(
        backend.tallies["turns"], len(batched), cpu, cpu_now(backend), time.perf_counter() - started
    )


def turn_of(external_id: str) -> dict[str, Any]:
    """A turn as the gateway logs it: the reading and two replies."""
    at = datetime.now(UTC).isoformat()
    return {
        "reading": {"intent": "greet", "confidence": 0.97, "entities": []},
        "replies": [
            {**reply, "external_id": f"{external_id}-r{n}", "sent_at": at}
            for n, reply in enumerate(REPLIES)
        ],
    }


def add(
    tally: Tally,
    calls: int,
    before: tuple[float, float],
    after: tuple[float, float],
    wall: float,
) -> None:
    tally.calls += calls
    tally.backend += after[0] - before[0]
    tally.postgres += after[1] - before[1]
    tally.wall += wall


async def bench(
    urls: list[str], calls: int, rounds: int, token: str, at_once: int = 1
) -> list[Backend]:
    backends = []
    for url in urls:
        port = port_of(url)
        pid = pid_on(port)
        if pid is None:
            raise SystemExit(f"no process of this user listens on port {port} ({url})")
        backends.append(Backend(url.rstrip("/"), pid))
    headers = {"Authorization": f"Bearer {token}"}
    # The gateway's transport, as bench.chat_load's: httpx's own took this process more CPU than
    # the backend spent on a call, on the cores the backend runs on.
    transport = AiohttpTransport(max_connections=at_once)
    async with httpx.AsyncClient(headers=headers, timeout=30, transport=transport) as client:
        for backend in backends:  # warm up: connections, the first queries' plans
            await one_round(client, backend, CHATS)
            backend.tallies = Backend("", 0).tallies
        for n in range(rounds):
            for backend in backends if n % 2 == 0 else backends[::-1]:
                await one_round(client, backend, calls, at_once)
    return backends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=DEFAULT_BACKEND, help="default: $BACKEND_URL")
    parser.add_argument("--calls", type=int, default=500, help="of each kind, per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--at-once",
        type=int,
        default=1,
        help="messages in flight at once (as under load: several borrowers writing)",
    )
    parser.add_argument(
        "--service-token", default=os.environ.get("SERVICE_TOKEN", "dev-service-token")
    )
    args = parser.parse_args(argv)
    try:
        backends = asyncio.run(
            bench(
                args.backends.split(","), args.calls, args.rounds, args.service_token, args.at_once
            )
        )
    except httpx.HTTPError as exc:
        print(f"the backend did not answer as expected: {exc}", file=sys.stderr)
        return 1
    for backend in backends:
        print(backend.url)
        for name, tally in backend.tallies.items():
            print(tally.line(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
