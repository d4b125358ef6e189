"""Requests that wait on each other's locks, on PostgreSQL.

A provider delivers the same signed webhook twice at the same moment (what a real provider's
retry does), to a real backend process: both deliveries are answered, the money is posted once,
and the backend keeps answering everyone meanwhile. It once froze here for good: the webhook ran
its database work on the event loop, so the twin waiting on the first delivery's row lock held
the loop, and the first could never commit; every request, `/healthz` included, then hung until
the process was killed.

And a request that waits too long for a lock gives up: 503 with Retry-After, not a 500 and not
a request that hangs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend import db
from backend.config import Settings
from backend.main import create_app
from backend.migrate import upgrade
from backend.payments.provider import PaymentEvent, SandboxProvider
from tests import ports
from tests.backend import factories
from tests.conftest import PG_URL, need_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("own-processes")]

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "twins-service-token"
SECRET = "twins-webhook-secret"


def free_port() -> int:
    return ports.free_port("python")


@dataclass
class Backend:
    url: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )


@pytest.fixture(scope="module")
def schema_url() -> Iterator[str]:
    """A migrated schema of this module's own in the local PostgreSQL, as a DATABASE_URL."""
    schema = f"contention_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        need_postgres(str(exc).splitlines()[0])
    joiner = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{joiner}options={quote(f'-csearch_path={schema}')}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def a_loan(url: str, ref: str) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        factories.loan(session, ref=ref, disbursed_on=date(2026, 1, 15))
        session.commit()
    engine.dispose()


@pytest.fixture
def backend(schema_url: str, tmp_path: Path) -> Iterator[Backend]:
    """`python -m backend serve` on the schema, with a loan L-TWIN in it."""
    a_loan(schema_url, "L-TWIN")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": schema_url,
        "BACKEND_PORT": str(port),
        "PUBLIC_BASE_URL": url,
        "SERVICE_TOKEN": TOKEN,
        "SANDBOX_WEBHOOK_SECRET": SECRET,
        "BUSINESS_DATE": "2026-04-01",
    }
    log = tmp_path / "backend.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"backend did not start: {log.read_text()}")
            time.sleep(0.2)
        yield Backend(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # the frozen backend: only SIGKILL stops it
            proc.kill()
            proc.wait()


# Links, each delivered twice at once. Whether the old code froze depended on the order its
# event loop took the two requests in: one round froze it most times, three every time seen.
ROUNDS = 3
# A frozen backend never answers; a busy test machine may take a few seconds to.
HEALTH_WITHIN = 5


def test_a_webhook_delivered_twice_at_once_posts_once_and_nothing_hangs(
    backend: Backend,
) -> None:
    provider = SandboxProvider(base_url=backend.url, secret=SECRET)
    events: list[bytes] = []
    with backend.api() as api:
        for n in range(ROUNDS):
            made = api.post("/loans/L-TWIN/payment-links", json={"amount": "10.00"})
            assert made.status_code == 201, made.text
            event = PaymentEvent(made.json()["token"], f"PSP-TWIN-{n}", 1000, "CNY")
            events.append(provider.event_body(event))

    barrier = threading.Barrier(2)
    answers: list[list[tuple[int, str]]] = [[] for _ in events]
    failures: list[str] = []

    def twin() -> None:
        """One of the two deliveries of every event, each sent at the same moment as the
        other's, on a connection of its own."""
        try:
            for n, body in enumerate(events):
                barrier.wait(timeout=30)
                r = httpx.post(
                    f"{backend.url}/api/v1/payments/webhooks/sandbox",
                    content=body,
                    headers={"X-Signature": provider.sign(body)},
                    timeout=20,
                )
                answers[n].append((r.status_code, r.json().get("status", r.text)))
        except Exception as exc:  # surfaced below, not lost in the thread
            failures.append(repr(exc))
            barrier.abort()

    twins = [threading.Thread(target=twin) for _ in range(2)]
    for t in twins:
        t.start()
    unanswered: list[str] = []
    started = time.monotonic()
    while any(t.is_alive() for t in twins) or time.monotonic() - started < 1:
        asked = time.monotonic()
        try:
            httpx.get(f"{backend.url}/healthz", timeout=HEALTH_WITHIN).raise_for_status()
        except httpx.HTTPError as exc:
            unanswered.append(f"at {asked - started:.1f} s: {exc!r}")
        if len(unanswered) >= 3 or time.monotonic() - started > 60:
            break
        time.sleep(0.1)
    for t in twins:
        t.join(timeout=30)

    assert unanswered == [], "the backend stopped answering /healthz"
    assert failures == []
    assert [sorted(pair) for pair in answers] == [[(200, "duplicate"), (200, "posted")]] * ROUNDS
    with backend.api() as api:
        payments = api.get("/loans/L-TWIN/payments").json()
    assert sorted((p["reference"], p["amount"]) for p in payments) == [
        (f"PSP-TWIN-{n}", "10.00") for n in range(ROUNDS)
    ]


def test_a_request_kept_waiting_for_a_lock_answers_503_with_retry_after(
    schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_loan(schema_url, "L-LOCK")
    monkeypatch.setattr(db, "LOCK_TIMEOUT", "300ms")  # the same path as 5 s, sooner
    settings = Settings(
        app_env="test",
        database_url=schema_url,
        service_token=TOKEN,
        business_date=date(2026, 4, 1),
    )
    locked, done = threading.Event(), threading.Event()

    def hold_the_payments_table() -> None:
        """Another transaction: reading the table works, writing waits. It lets go after 3 s
        at the latest (without a lock timeout the request would wait as long)."""
        holder = create_engine(schema_url)
        with holder.begin() as conn:
            conn.execute(text("LOCK TABLE payments IN EXCLUSIVE MODE"))
            locked.set()
            done.wait(3)
        holder.dispose()

    # The app starts before the lock is taken: on a loaded machine its start took longer than
    # the 3 s the lock is held, and the payment was written after it was let go.
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        other = threading.Thread(target=hold_the_payments_table)
        other.start()
        assert locked.wait(10)
        asked = time.monotonic()
        r = client.post(
            "/api/v1/loans/L-LOCK/payments", json={"amount": "10.00", "reference": "R-LOCK"}
        )
        waited = time.monotonic() - asked
        done.set()
        other.join()
        balance = client.get("/api/v1/loans/L-LOCK/payments")
    assert (r.status_code, r.headers.get("retry-after")) == (503, "2"), r.text
    assert r.json() == {
        "detail": "the database is busy: try again shortly",
        "code": "database_busy",
    }
    assert waited < 2.5
    assert balance.json() == []  # nothing was written: trying again is safe
