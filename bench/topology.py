"""`make run-prod`'s topology started for a benchmark or a test: scripts/run_prod.py in a state
folder of its own on free ports, with Prometheus metrics on (METRICS_TOKEN) and Telegram on,
its Bot API being the fake server of tools/fake_telegram (started first, stopped last), which
posts updates to nginx's `/telegram` as Telegram posts to a webhook.

The handle knows what an operator of that topology knows: each replica's process id (from
the launcher's pidfiles), port and health check, the PostgreSQL cluster and Redis server the
launcher runs, the backend's command line, and the proxy's access log."""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts import compose_plan, run_prod

ROOT = compose_plan.ROOT
READY = "The production topology is ready"
PORTS = 60  # the launcher's ports: published ones, then internal ones
FAKE_TELEGRAM = ROOT / "tools" / "fake_telegram"
BOT_TOKEN = "4004:production-topology"
CHECKOUT_URL = "https://pay.example.test/checkout/{token}"  # the lender's page (never opened)
START_SECONDS = 900.0  # a cold start on a busy 2-core machine (Rasa loads its model twice)


class TopologyFailed(RuntimeError):
    """The topology did not start; the message ends with the launcher's last lines."""


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
class FakeTelegram:
    proc: subprocess.Popen[bytes]
    port: int
    token: str = BOT_TOKEN

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, status: int, seconds: float, retry_after: int = 1) -> None:
        """Every Bot API method answers `status` for `seconds` (0 ends it)."""
        body = {"status": status, "seconds": seconds, "retry_after": retry_after}
        httpx.post(f"{self.url}/__control/failures", json=body, timeout=10).raise_for_status()


@dataclass
class Topology:
    proc: subprocess.Popen[bytes]
    state: Path
    log: Path
    first_port: int
    backend_env: dict[str, str]  # the backend's environment, for its command line
    metrics_token: str
    telegram: FakeTelegram | None
    plan: compose_plan.Plan
    nlu_dir: Path = ROOT / "nlu"  # what the backend's ./nlu bind mount shows
    payment_secret: str = ""  # PAYMENT_WEBHOOK_SECRET: the hosted checkout signs with it

    @property
    def web(self) -> str:
        """nginx in front of the gateways (compose's published 8080)."""
        return f"http://127.0.0.1:{self.first_port + 1}"

    @property
    def http(self) -> str:
        """nginx in front of the backends (compose's published 80)."""
        return f"http://127.0.0.1:{self.first_port}"

    @property
    def rasa_port(self) -> int:
        """The proxy's port in front of the Rasa replicas (the container's 5005)."""
        return self.plan.addresses[("proxy", 5005)]

    def replicas(self, service: str) -> list[compose_plan.Replica]:
        return [r for r in self.plan.of(service) if not r.one_shot]

    def port(self, name: str) -> int:
        """A replica's own port (its first), e.g. port("gateway-2")."""
        replica = next(r for r in self.plan.replicas if r.name == name)
        return next(iter(replica.ports.values()))

    def pid(self, name: str) -> int:
        """The running process of `name` (backend-1, rasa-2, proxy, ...), from its pidfile."""
        return int(run_prod.pidfile(self.state, name).read_text())

    def signal(self, name: str, sig: signal.Signals) -> int:
        """Send `sig` to the process and its children (its own process group); its pid."""
        pid = self.pid(name)
        os.killpg(pid, sig)
        return pid

    def healthy(self, name: str) -> bool:
        replica = next(r for r in self.plan.replicas if r.name == name)
        url = run_prod.health(replica)
        if url is None:
            return True
        try:
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_until_healthy(self, seconds: float = 300) -> float:
        """Until every replica answers its health check again; how long that took."""
        started = time.monotonic()
        names = [r.name for r in self.plan.replicas if not r.one_shot]
        while not all(self.healthy(n) for n in names):
            if time.monotonic() - started > seconds:
                down = [n for n in names if not self.healthy(n)]
                raise TopologyFailed(f"not healthy again within {seconds:.0f} s: {down}")
            time.sleep(1)
        return time.monotonic() - started

    @property
    def postgres(self) -> run_prod.Postgres:
        return run_prod.Postgres(self.state / "postgres", self.plan.upstreams[("db", 5432)][0])

    @property
    def redis(self) -> run_prod.Redis:
        command = list(compose_plan.load_compose()["redis"]["command"])
        return run_prod.Redis(
            self.state / "redis", self.plan.upstreams[("redis", 6379)][0], command
        )

    def backend_cli(self, *args: str, stdin: str | None = None) -> str:
        env = {**self.backend_env, "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "backend", *args], input=stdin,
            cwd=self.state, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"backend {' '.join(args[:1])} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def upstreams(self, port: int) -> list[str]:
        """The replica (address) nginx passed each request on `port` to, in order."""
        lines = (self.state / "nginx" / "access.log").read_text().splitlines()
        return [line.split()[4] for line in lines if line.split()[1] == str(port)]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def exports(state: Path, first: int, environ: dict[str, str]) -> dict[str, str]:
    where = ["--state", str(state), "--ports-from", str(first)]
    text = subprocess.run(
        [sys.executable, "scripts/run_prod.py", "env", *where],
        cwd=ROOT, env=environ, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    env = {}
    for line in text.splitlines():
        name, value = line.removeprefix("export ").split("=", 1)
        env[name] = shlex.split(value)[0] if value else ""
    return env


def stop_group(proc: subprocess.Popen[bytes], sig: signal.Signals, seconds: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def fake_telegram(port: int, log: Path) -> Iterator[FakeTelegram]:
    if not (FAKE_TELEGRAM / "node_modules").is_dir():
        raise TopologyFailed(f"the fake Telegram server is not installed in {FAKE_TELEGRAM}")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["node", "server.js", str(port)],
            cwd=FAKE_TELEGRAM, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "fake Telegram Bot API on" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise TopologyFailed("the fake Telegram server did not start: " + log.read_text())
            time.sleep(0.2)
        yield FakeTelegram(proc, port)
    finally:
        stop_group(proc, signal.SIGTERM, 10)


@contextlib.contextmanager
def running(
    state: Path,
    *,
    telegram: bool = True,
    nlu_dir: Path | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[Topology]:
    """scripts/run_prod.py started as `make run-prod` starts it, in `state`, until the block
    ends (then Ctrl-C, as an operator stops it). `nlu_dir`: the folder the backend's `./nlu`
    bind mount shows (labels and retraining write there), instead of this checkout's nlu/.
    `settings`: variables compose reads from the environment (e.g. BUSINESS_TIMEZONE)."""
    state.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the postgres user makes its cluster in here
        for folder in (state, *state.parents):
            folder.chmod(folder.stat().st_mode | 0o011)
    first = free_range(PORTS + 1)  # and one for the fake Telegram server
    run_prod.load_secrets(state)  # generated now: the plan below and the launcher share them
    metrics_token = secrets.token_urlsafe(32)
    payment_secret = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "METRICS_TOKEN": metrics_token,
        # the lender's hosted checkout (README, "Payments in production"): its page and webhook
        "PAYMENT_CHECKOUT_URL": CHECKOUT_URL,
        "PAYMENT_WEBHOOK_SECRET": payment_secret,
        **(settings or {}),
    }
    with contextlib.ExitStack() as stack:
        fake = None
        if telegram:
            fake = stack.enter_context(fake_telegram(first + PORTS, state / "telegram.log"))
            env |= {
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_API_BASE_URL": f"{fake.url}/bot",
                # nginx's published web chat port: it passes /telegram to the gateways' webhook
                "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{first + 1}/telegram",
                "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(32),
            }
        mounts = ["--mount", f"./nlu={nlu_dir}"] if nlu_dir else []
        log = state / "run-prod.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "scripts/run_prod.py", "--state", str(state),
                 "--ports-from", str(first), *mounts],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        stack.callback(stop_group, proc, signal.SIGINT, 60)
        plan = run_prod.plan_for(state, first)
        top = Topology(
            proc, state, log, first, exports(state, first, env), metrics_token, fake, plan
        )
        top.nlu_dir = nlu_dir or ROOT / "nlu"
        top.payment_secret = payment_secret
        deadline = time.monotonic() + START_SECONDS
        while READY not in top.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise TopologyFailed("make run-prod did not start:\n" + top.output()[-5000:])
            time.sleep(1)
        yield top
