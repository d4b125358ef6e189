"""Reminders benchmark: planning a day's reminders over a large book on PostgreSQL, and
delivering them through the real gateway. Prints its figures; it is not a test.

    .venv/bin/python -m bench.outreach [--loans 1000000] [--deliver 300] [--schema NAME]

1. Planning: `--loans` loans from the demo generator in a throwaway PostgreSQL schema
   (BENCH_DATABASE_URL), every borrower having started the bot; then `planner.plan` for one
   business date over the whole book, and one dispatch pass (the worker's batches, up to
   20,000 reminders) at 10:00 in Shanghai: the compliance rules and the outbox writes.
   `--schema NAME` keeps the schema, and a later run with the same name resumes generating
   into it (its reminders and outbox are cleared first).
2. Delivery: `--deliver` reminders planned and queued in a small SQLite database behind
   `python -m backend serve`, delivered by the real gateway (`python -m bot serve`, its
   outbound sender and rate limiter) to the fake Telegram Bot API server
   (tools/fake_telegram: npm telegram-test-api); messages/s against Telegram's 30 a second per
   bot, and a check that each chat got its messages exactly once. The benchmark starts and
   stops these processes itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, String, cast, create_engine, delete, exists, func, literal, select
from sqlalchemy import insert as sql_insert
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

import backend.models  # noqa: F401  (every table mapped before any query)
from backend.borrowers.models import Borrower
from backend.config import ROOT
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.db import make_engine
from backend.demo.generator import generate
from backend.migrate import upgrade
from backend.outbound.models import OutboundMessage
from backend.outreach import planner, service
from backend.outreach.models import Reminder, ReminderDecision
from backend.outreach.setup import OutreachConfig, load_outreach_config
from backend.types import UTCDateTime
from backend.verification.models import LinkToken
from bench.portfolio import AS_OF, PG_URL

TODAY = AS_OF  # the business date: the generator's histories run up to it
ZONE = ZoneInfo("Asia/Shanghai")
PLAN_AT = clock(0, 5)  # when the worker plans (OUTREACH_PLAN_AT)
SEND_AT = clock(10, 0)  # inside the contact window
SLICE = 100_000  # loans generated between progress lines
DISPATCH_MOST = 20_000
# Delivery: reminders due for each one to send (some wait for the borrower's window), and loans
# generated at a time for each (about 6% of the loans have a reminder on a given day).
DUE_PER_SENT = 1.5
LOANS_PER_SENT = 10
BOT_TOKEN = "2002:outreach-bench"
SERVICE_TOKEN = "bench-outreach-service-token"
TELEGRAM_RATE = 30.0  # messages a second Telegram lets one bot send
FAKE_TELEGRAM = ROOT / "tools" / "fake_telegram"  # npm, installed by `make setup`


class BenchError(Exception):
    """A condition that ends the benchmark with one line."""


def at(day: date, local: clock) -> datetime:
    """A Shanghai wall-clock time on `day`, as UTC."""
    return datetime.combine(day, local, ZONE).astimezone(UTC)


# ---- the book ----------------------------------------------------------------------------------


def borrowers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Borrower)) or 0


def generate_book(session: Session, loans: int) -> None:
    """Generate loans (one per borrower) up to `loans` in all, a progress line per 100,000; a
    book cut short by a stop is completed (each slice has its own seed, refs run on)."""
    have = start = borrowers(session)
    if have >= loans:
        print(f"{have:,} loans already there", flush=True)
        return
    t0 = time.perf_counter()
    while have < loans:
        size = min(SLICE - have % SLICE, loans - have)
        generate(
            session,
            borrowers=size,
            as_of=TODAY,
            id_hash_key="bench",
            seed=1 + have,
            chunk_size=5000,
            progress=False,
        )
        have += size
        seconds = time.perf_counter() - t0
        print(f"  {have:,} loans, {seconds:.0f} s", flush=True)
    made = have - start
    print(
        f"generated {made:,} loans in {seconds:.1f} s ({made / seconds:,.0f} loans/s)"
        + (f", after {start:,} from an earlier run" if start else ""),
        flush=True,
    )


def start_the_bot(session: Session, now: datetime) -> int:
    """Every borrower without a chat starts the bot on Telegram (chat id = borrower id), linked
    with a token: one set-based INSERT ... SELECT; how many chats were added."""
    stamp = literal(now, UTCDateTime())
    chats = select(
        literal("telegram"),
        cast(Borrower.id, String),
        Borrower.id,
        stamp,
        literal("link_token"),
        Borrower.language,
        literal("bot"),
        literal(0),
        stamp,
    ).where(~exists().where(Conversation.borrower_id == Borrower.id))
    columns = [
        "channel",
        "channel_user_id",
        "borrower_id",
        "bound_at",
        "bound_by",
        "language",
        "mode",
        "failed_verifications",
        "created_at",
    ]
    statement = sql_insert(Conversation).from_select(columns, chats)
    added = session.connection().execute(statement.execution_options(preserve_rowcount=True))
    session.commit()
    return added.rowcount


def forget_reminders(session: Session) -> None:
    """An earlier run's reminders (and their decisions, their texts' link tokens) and outbox,
    so that planning and sending start afresh."""
    for model in (ReminderDecision, Reminder, OutboundMessage, Message, LinkToken):
        session.execute(delete(model))
    session.commit()


def analyze(session: Session) -> None:
    tables = (
        "borrowers, loans, installments, payments, promises, arrangements, "
        "arrangement_installments, conversations, reminders"
    )
    session.execute(sql(f"ANALYZE {tables}"))
    session.commit()


# ---- planning and deciding ---------------------------------------------------------------------


def plan(session: Session, config: OutreachConfig) -> tuple[planner.PlanTally, float]:
    t0 = time.perf_counter()
    tally = planner.plan(session, today=TODAY, now=at(TODAY, PLAN_AT), policy=config.policy)
    session.commit()
    return tally, time.perf_counter() - t0


def per_step(session: Session) -> dict[str, int]:
    return dict(
        session.execute(
            select(Reminder.step_id, func.count())
            .where(Reminder.occasion == TODAY)
            .group_by(Reminder.step_id)
            .order_by(Reminder.step_id)
        ).all()
    )


def dispatch(
    session: Session, config: OutreachConfig, *, most: int, only: str | None = None
) -> Counter[tuple[str, str | None]]:
    """Decide due reminders at 10:00 in the worker's batches, a transaction each, until `most`
    were decided (`most` with the action `only`, when given) or none is left; the outcomes by
    action and reason."""
    outcomes: Counter[tuple[str, str | None]] = Counter()
    now = at(TODAY, SEND_AT)
    while (done := sum(n for (a, _), n in outcomes.items() if only in (None, a))) < most:
        limit = min(service.BATCH, most - done)
        batch = service.dispatch(session, today=TODAY, now=now, config=config, limit=limit)
        session.commit()
        outcomes.update((o.action, o.reason) for o in batch.outcomes)
        if len(batch.outcomes) < limit:
            break
    return outcomes


def by_action(outcomes: Counter[tuple[str, str | None]]) -> str:
    actions: Counter[str] = Counter()
    for (action, _), n in outcomes.items():
        actions[action] += n
    reasons = ", ".join(f"{a} {r} {n:,}" for (a, r), n in sorted(outcomes.items()) if r) or "none"
    return (
        f"{actions['send']:,} sent, {actions['defer']:,} deferred, {actions['drop']:,} dropped "
        f"(reasons: {reasons})"
    )


# ---- 1. planning at scale on PostgreSQL --------------------------------------------------------


@contextlib.contextmanager
def postgres_schema(name: str | None) -> Iterator[Engine]:
    """An engine on a migrated schema of BENCH_DATABASE_URL: a throwaway one, or `name`,
    created if missing and kept."""
    schema = name or f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.begin() as conn:
            upgrade(PG_URL, connection=conn)
        yield engine
    finally:
        engine.dispose()
        if name is None:
            with admin.begin() as conn:
                conn.execute(sql(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_planning(config: OutreachConfig, *, loans: int, schema: str | None) -> None:
    with postgres_schema(schema) as engine, Session(engine, expire_on_commit=False) as session:
        generate_book(session, loans)
        forget_reminders(session)
        t0 = time.perf_counter()
        added = start_the_bot(session, at(TODAY, PLAN_AT))
        print(f"{added:,} borrowers started the bot: {time.perf_counter() - t0:.1f} s")
        analyze(session)
        book = borrowers(session)
        tally, seconds = plan(session, config)
        steps = per_step(session)
        print(
            f"[postgres] planned {TODAY} over {book:,} loans in {seconds:.1f} s "
            f"({book / seconds:,.0f} loans/s): {tally.candidates:,} candidate loans, "
            f"{tally.due:,} reminders due, {tally.planned:,} planned"
        )
        print("[postgres] per step: " + ", ".join(f"{k} {v:,}" for k, v in steps.items()))
        t0 = time.perf_counter()
        outcomes = dispatch(session, config, most=DISPATCH_MOST)
        seconds = time.perf_counter() - t0
        decided = outcomes.total()
        print(
            f"[postgres] dispatched {decided:,} reminders at {SEND_AT:%H:%M} in {seconds:.1f} s "
            f"({decided / seconds:,.0f} decisions/s): {by_action(outcomes)}",
            flush=True,
        )


# ---- 2. delivery through the real gateway ------------------------------------------------------


def book_with_reminders(session: Session, config: OutreachConfig, count: int) -> int:
    """Borrowers who started the bot, added until `count` x DUE_PER_SENT reminders are due
    today (and planned); how many borrowers."""
    while plan(session, config)[0].due < count * DUE_PER_SENT:  # planning again adds none
        generate(
            session,
            borrowers=count * LOANS_PER_SENT,
            as_of=TODAY,
            id_hash_key="bench",
            seed=borrowers(session),
            chunk_size=5000,
            progress=False,
        )
        start_the_bot(session, at(TODAY, PLAN_AT))
    return borrowers(session)


# ---- the processes delivery runs: backend, fake Telegram server, gateway ------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Processes started with one environment, each logging to `logs`/<name>.log."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `args` with the shared environment plus `env`."""
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                args, cwd=cwd, env={**self.env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float) -> httpx.Response:
    """The first answer below 500 from `url`; BenchError if `proc` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(url, timeout=2)
            if response.status_code < 500:
                return response
        time.sleep(0.3)
    raise BenchError(f"{url} did not come up in {seconds:.0f} s")


def start_stack(processes: Processes, database_url: str) -> str:
    """The fake Telegram server, the backend on `database_url`, and the gateway
    (`python -m bot serve`, polling the fake server; no Rasa: the outbound sender does not need
    it); the fake server's URL."""
    if not (FAKE_TELEGRAM / "node_modules").exists() or shutil.which("node") is None:
        raise BenchError(
            f"the fake Telegram server is not installed in {FAKE_TELEGRAM}: make setup"
        )
    ports = {name: free_port() for name in ("backend", "gateway", "telegram", "rasa")}
    backend = f"http://127.0.0.1:{ports['backend']}"
    telegram_api = f"http://127.0.0.1:{ports['telegram']}"
    processes.env.update(
        DATABASE_URL=database_url,
        BACKEND_PORT=str(ports["backend"]),
        BACKEND_URL=backend,
        PUBLIC_BASE_URL=backend,
        SERVICE_TOKEN=SERVICE_TOKEN,
        BUSINESS_DATE=TODAY.isoformat(),
        RASA_URL=f"http://127.0.0.1:{ports['rasa']}",
    )
    gateway_env = {
        "GATEWAY_PORT": str(ports["gateway"]),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE_URL": f"{telegram_api}/bot",
        "TELEGRAM_POLL_INTERVAL": "0.2",
        "OUTBOUND_POLL_SECONDS": "0.2",
        # The gateway's own pace (28 a second, bot/config.py), measured against TELEGRAM_RATE.
        "SPOOL_PATH": str(processes.logs / "spool.sqlite3"),
    }
    telegram = processes.start(
        "telegram", ["node", "server.js", str(ports["telegram"])], cwd=FAKE_TELEGRAM
    )
    server = processes.start("backend", [sys.executable, "-m", "backend", "serve"])
    wait_for(f"{telegram_api}/bot0:probe/getMe", telegram, 30)
    wait_for(f"{backend}/healthz", server, 60)
    gateway = processes.start("gateway", [sys.executable, "-m", "bot", "serve"], env=gateway_env)
    health = f"http://127.0.0.1:{ports['gateway']}/healthz"
    deadline = time.monotonic() + 30
    while wait_for(health, gateway, 30).json().get("telegram") == "starting":
        if time.monotonic() > deadline:
            raise BenchError("the gateway did not connect to the fake Telegram server in 30 s")
        time.sleep(0.2)
    return telegram_api


def bot_messages(telegram_api: str) -> list[dict[str, object]]:
    """What the bot sent, as the fake server keeps it (time in ms, message with chat_id)."""
    response = httpx.post(
        f"{telegram_api}/getUpdatesHistory", json={"token": BOT_TOKEN}, timeout=30
    )
    response.raise_for_status()
    return [item for item in response.json()["result"] if "message" in item]


def outbox(engine: Engine) -> list[tuple[str, str, datetime | None]]:
    """Each queued message: its chat id, status and delivery time (a short transaction: on
    SQLite each one holds the write lock)."""
    with Session(engine) as session:
        return [
            (user_id, status, delivered_at)
            for user_id, status, delivered_at in session.execute(
                select(
                    Conversation.channel_user_id,
                    OutboundMessage.status,
                    OutboundMessage.delivered_at,
                ).join(Conversation, Conversation.id == OutboundMessage.conversation_id)
            )
        ]


def await_delivery(engine: Engine, count: int) -> list[tuple[str, str, datetime | None]]:
    """The outbox once every message has left it, or when it stopped moving for 30 s."""
    last, changed = -1, time.monotonic()
    while True:
        rows = outbox(engine)
        settled = sum(status != "pending" for _, status, _ in rows)
        if settled >= count:
            return rows
        if settled != last:
            last, changed = settled, time.monotonic()
        elif time.monotonic() - changed > 30:
            raise BenchError(f"only {settled} of {count} messages left the outbox")
        time.sleep(1)


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


def rate_between(times_ms: list[int]) -> float:
    """Messages a second from the first to the last of these (NaN for fewer than two)."""
    if len(times_ms) < 2:
        return float("nan")
    return per_second(len(times_ms) - 1, (times_ms[-1] - times_ms[0]) / 1000)


def peak_per_second(times_ms: list[int]) -> int:
    """The most messages within any one second."""
    peak, first = 0, 0
    for last, t in enumerate(times_ms):
        while t - times_ms[first] >= 1000:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def report_delivery(
    rows: list[tuple[str, str, datetime | None]], received: list[dict[str, object]], queued: float
) -> None:
    """Rates as the outbox and the fake server saw them; raises unless each chat got exactly
    what was queued for it."""
    statuses = Counter(status for _, status, _ in rows)
    if statuses["delivered"] != len(rows):
        raise BenchError(f"not every message was delivered: {dict(statuses)}")
    stamps = sorted(at_.timestamp() for _, _, at_ in rows if at_ is not None)
    span = stamps[-1] - stamps[0]
    rate = per_second(len(stamps) - 1, span)
    print(
        f"[delivery] outbox: {len(rows)} delivered; first to last "
        f"delivered {span:.1f} s = {rate:.1f} msgs/s ({rate / TELEGRAM_RATE:.0%} of Telegram's "
        f"{TELEGRAM_RATE:.0f}/s per bot); dispatch to last delivered {stamps[-1] - queued:.1f} s"
    )
    times = sorted(int(str(item["time"])) for item in received)
    burst = int(TELEGRAM_RATE)  # what the rate limiter lets through at once after a pause
    steady = rate_between(times[burst:])
    print(
        f"[delivery] fake Telegram server: {len(times)} messages, first to last "
        f"{(times[-1] - times[0]) / 1000:.1f} s; after the first {burst}: {steady:.1f} msgs/s; "
        f"at most {peak_per_second(times)} in one second"
    )
    expected = Counter(user_id for user_id, _, _ in rows)
    got = Counter(str(item["message"]["chat_id"]) for item in received)  # type: ignore[index]
    if got != expected:
        chats = expected.keys() | got.keys()
        wrong = {c: (expected[c], got[c]) for c in chats if expected[c] != got[c]}
        raise BenchError(
            f"chats whose count (queued, arrived) differs: {dict(sorted(wrong.items()))}"
        )
    print(f"[delivery] every message arrived exactly once ({len(expected)} chats)")


def print_log_tails(folder: Path, lines: int = 15) -> None:
    for log in sorted(folder.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {log.name} (last {lines} lines)", *tail, sep="\n", file=sys.stderr)


def bench_delivery(config: OutreachConfig, *, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/delivery.db"
        upgrade(url)
        engine = make_engine(url)
        processes = Processes(Path(tmp), {**os.environ})
        try:
            with Session(engine, expire_on_commit=False) as session:
                book = book_with_reminders(session, config, count)
            telegram_api = start_stack(processes, url)
            queued = time.time()
            with Session(engine, expire_on_commit=False) as session:
                outcomes = dispatch(session, config, most=count, only="send")
            print(f"[delivery] {book:,} loans on SQLite; at {SEND_AT:%H:%M}: {by_action(outcomes)}")
            rows = await_delivery(engine, count)
            report_delivery(rows, bot_messages(telegram_api), queued)
        except BaseException:
            print_log_tails(Path(tmp))
            raise
        finally:
            processes.stop_all()
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=1_000_000, help="0 leaves planning out")
    parser.add_argument("--deliver", type=int, default=300, help="0 leaves delivery out")
    parser.add_argument("--schema", help="keep this PostgreSQL schema and resume into it")
    args = parser.parse_args(argv)
    config = load_outreach_config(ROOT / "config")
    try:
        if args.loans:
            bench_planning(config, loans=args.loans, schema=args.schema)
        if args.deliver:
            bench_delivery(config, count=args.deliver)
    except BenchError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
