"""`make run-prod`: docker-compose.yml's production topology as processes on this machine.

What compose would start, from its own files (scripts/compose_plan.py reads docker-compose.yml,
the Dockerfiles, nlu/deploy-endpoints.yml and deploy/nginx.conf): PostgreSQL for the backend
and Rasa's tracker store, Redis for Rasa's lock store and the gateways' pub/sub, two of each
replicated service (backend, reminders worker, action server, Rasa, gateway), Rasa's trainer,
and nginx in front, all with APP_ENV=production. No Docker engine is needed:

- PostgreSQL is a cluster of its own under the state folder (initdb the first time; run as the
  `postgres` user when this runs as root, which PostgreSQL refuses to be), on a port of its own;
- redis-server and nginx (Debian's packages: `make run-prod` installs them when root) likewise;
- the secrets compose demands are generated once into <state>/secrets.env (mode 600); the
  environment overrides any of them, as an .env file beside docker-compose.yml would;
- the database is migrated first (compose's `migrate`), then every other process starts under
  scripts/run_stack.py's supervisor, which restarts one that dies, as `restart: unless-stopped`;
  each one's process id is in <state>/run/<name>.pid (backend-1, rasa-2, proxy, ...), rewritten
  at every restart, as `docker kill` would find a container (the fault matrix uses them).

Usage:
  python scripts/run_prod.py [--state DIR] [--ports-from N] [--mount ./nlu=DIR]
      start it (a bind mount's source moved to DIR); Ctrl-C stops it all
  python scripts/run_prod.py env [--state DIR] [--ports-from N]
      the backend's environment as shell exports, for its commands against this database:
      eval "$(python scripts/run_prod.py env)" && python -m backend create-user alice
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import compose_plan
from scripts.run_stack import Process, Stack

ROOT = compose_plan.ROOT
STATE = ROOT / "var" / "prod"
# Variables the launcher sets itself when the environment does not: the rest of compose's
# required ones are secrets.
DERIVED = ("PUBLIC_BASE_URL",)
# What every process gets besides compose's environment (a container has its image's ENV).
BASE_ENV = {"LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def as_postgres() -> list[str]:
    """PostgreSQL will not run as root: as root, its commands run as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def pg_binary(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        sys.exit(f"PostgreSQL's {name} was not found: install PostgreSQL (Debian: postgresql)")
    return found if isinstance(found, str) else found[0]


@dataclass
class Postgres:
    """The topology's own PostgreSQL cluster: compose's `db`."""

    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*as_postgres(), *argv]  # PostgreSQL's own programs
        return subprocess.run(command, check=check, text=True, capture_output=True)  # noqa: S603

    def ensure_cluster(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        # Local socket connections (the launcher's own) are trusted; TCP ones need a password.
        self.run(
            pg_binary("initdb"), "-D", str(self.data), "-U", "postgres", "--encoding=UTF8",
            "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self.run(
            pg_binary("pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "postgres.log"), "-w", "start",
        )  # fmt: skip

    def restart(self) -> None:
        """As an operator would (the fault matrix does): the server started again logs to the
        same file, and so keeps none of this call's output pipes open."""
        self.run(
            pg_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"),
            "-m", "fast", "-w", "restart",
        )  # fmt: skip

    def stop(self) -> None:
        self.run(pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def sql(self, statement: str, database: str = "postgres") -> str:
        done = self.run(
            pg_binary("psql"), "-h", str(self.folder), "-p", str(self.port), "-U", "postgres",
            "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", statement,
        )  # fmt: skip
        return done.stdout.strip()

    def ensure_databases(self, password: str) -> None:
        """What the postgres image does with POSTGRES_USER/PASSWORD/DB, then deploy/initdb."""
        quoted = password.replace("'", "''")
        if not self.sql("SELECT 1 FROM pg_roles WHERE rolname = 'lender'"):
            self.sql(f"CREATE ROLE lender LOGIN CREATEDB PASSWORD '{quoted}'")
            self.sql("CREATE DATABASE lender OWNER lender")
            for script in sorted((ROOT / "deploy" / "initdb").glob("*.sql")):
                self.sql(script.read_text())
        else:  # the secrets file may have been replaced: the password follows it
            self.sql(f"ALTER ROLE lender PASSWORD '{quoted}'")


@dataclass
class Redis:
    """compose's `redis`: its command, on a port of its own, as a daemon the launcher stops."""

    folder: Path
    port: int
    command: list[str]

    @property
    def pidfile(self) -> Path:
        return self.folder / "redis.pid"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not shutil.which(self.command[0]):
            sys.exit("redis-server was not found: install Redis (Debian: redis-server)")
        subprocess.run(  # noqa: S603  (compose's redis command)
            [
                *self.command, "--port", str(self.port), "--bind", "127.0.0.1",
                "--daemonize", "yes", "--pidfile", str(self.pidfile),
                "--logfile", str(self.folder / "redis.log"), "--dir", str(self.folder),
            ],
            check=True,
        )  # fmt: skip
        wait_for_port(self.port, 10, "Redis")

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self.pidfile.read_text()), 15)
            deadline = time.monotonic() + 5
            while self.pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.1)


def wait_for_port(port: int, seconds: float, what: str) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"{what} did not listen on 127.0.0.1:{port} within {seconds:.0f} s")


def load_secrets(state: Path) -> dict[str, str]:
    """compose's required secrets, generated once: URL-safe, 43 characters of randomness."""
    path = state / "secrets.env"
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                known[name] = value
    wanted = sorted(compose_plan.required_names() - set(DERIVED))
    if any(name not in known for name in wanted):
        for name in wanted:
            known.setdefault(name, secrets.token_urlsafe(32))
        state.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(
            "# Generated by make run-prod: the secrets docker-compose.yml demands.\n"
            + "".join(f"{name}={known[name]}\n" for name in sorted(known))
        )
    return known


def topology_env(state: Path, published_from: int | None) -> dict[str, str]:
    env = load_secrets(state)
    env.update({k: v for k, v in os.environ.items() if k in compose_plan.environment_names()})
    http = published_from if published_from is not None else 8000
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{http}")
    return env


def plan_for(
    state: Path, ports_from: int | None, binds: dict[str, Path] | None = None
) -> compose_plan.Plan:
    env = topology_env(state, ports_from)
    first = ports_from + 10 if ports_from is not None else 18100
    return compose_plan.build(env, state, first_port=first, published_from=ports_from, binds=binds)


def process_env(replica: compose_plan.Replica, state: Path) -> dict[str, str]:
    # A home of its own: Rasa and Keras write settings there (never into the checkout).
    home = state / "home" / replica.name
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **BASE_ENV}
    env["PYTHONPATH"] = str(ROOT)
    env.update(replica.env)
    return env


def workdir(replica: compose_plan.Replica, state: Path) -> Path:
    """Rasa's image works in nlu/ (relative paths in its command); the others get a folder of
    their own, as a container has: no developer's .env is read, nothing is shared by accident."""
    if replica.cwd != ROOT:
        return replica.cwd
    folder = state / "run" / replica.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def health(replica: compose_plan.Replica) -> str | None:
    port = next(iter(replica.ports.values()), None)
    if port is None:
        return None
    path = {
        "backend": "/healthz",
        "gateway": "/healthz",
        "actions": "/health",
    }.get(replica.service, f"/status?token={replica.env.get('RASA_TOKEN', '')}")
    return f"http://127.0.0.1:{port}{path}"


def nginx_files(plan: compose_plan.Plan, state: Path) -> Path:
    """The main configuration the nginx image has, around the local deploy/nginx.conf."""
    folder = state / "nginx"
    for sub in ("temp", "conf.d"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "conf.d" / "default.conf").write_text(plan.nginx_conf)
    main = folder / "nginx.conf"
    temp = folder / "temp"
    main.write_text(
        "\n".join(
            [
                "# Generated by make run-prod around deploy/nginx.conf (conf.d/default.conf).",
                *(["user root;"] if os.geteuid() == 0 else []),
                "worker_processes 1;",
                f"pid {folder / 'nginx.pid'};",
                "error_log stderr warn;",
                "events { worker_connections 1024; }",
                "http {",
                # Which replica answered each request (no paths: they hold loan numbers).
                "    log_format upstreams '$time_iso8601 $server_port $request_method $status "
                "$upstream_addr $request_time';",
                f"    access_log {folder / 'access.log'} upstreams;",
                "    keepalive_timeout 65;",
                *(
                    f"    {kind}_temp_path {temp / kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
                ),
                f"    include {folder / 'conf.d' / 'default.conf'};",
                "}",
                "",
            ]
        )
    )
    return main


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if not found:
        sys.exit("nginx was not found: install it (Debian: apt-get install nginx-light)")
    return found


def pidfile(state: Path, name: str) -> Path:
    """Where a running process's id is: `name` as the launcher prints it (gateway-1, proxy)."""
    return state / "run" / f"{name}.pid"


def processes(plan: compose_plan.Plan, state: Path) -> list[Process]:
    listed = [
        Process(
            r.name,
            "exec " + r.command,
            health(r),
            env=process_env(r, state),
            cwd=workdir(r, state),
            pidfile=pidfile(state, r.name),
        )
        for r in plan.replicas
        if not r.one_shot
    ]
    conf = nginx_files(plan, state)
    proxy = plan.published[80]
    listed.append(
        Process(
            "proxy",
            shlex.join(["exec", nginx_binary(), "-c", str(conf), "-g", "daemon off;"]),
            f"http://127.0.0.1:{proxy}/healthz",
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            pidfile=pidfile(state, "proxy"),
        )
    )
    return listed


def migrate(plan: compose_plan.Plan, state: Path) -> None:
    for replica in (r for r in plan.replicas if r.one_shot):
        done = subprocess.run(  # noqa: S603  (compose's migrate command)
            replica.argv, env=process_env(replica, state), cwd=workdir(replica, state), check=False
        )
        if done.returncode != 0:
            sys.exit(
                f"make run-prod stopped: {replica.service} failed (exit code {done.returncode})"
            )


def banner(plan: compose_plan.Plan, state: Path, seconds: float) -> str:
    counts: dict[str, int] = {}
    for r in plan.replicas:
        if not r.one_shot:
            counts[r.service] = counts.get(r.service, 0) + 1
    web, console = plan.published[8080], plan.published[80]
    return "\n".join(
        [
            f"The production topology is ready ({seconds:.0f} s), APP_ENV=production:",
            f"  web chat (through nginx)        http://127.0.0.1:{web}/webchat",
            f"  collector console               http://127.0.0.1:{console}/console",
            "  processes                       "
            + ", ".join(f"{name} ×{n}" for name, n in counts.items())
            + ", nginx",
            f"  PostgreSQL (lender, rasa)       127.0.0.1:{plan.upstreams[('db', 5432)][0]}",
            f"  Redis                           127.0.0.1:{plan.upstreams[('redis', 6379)][0]}",
            f"  secrets                         {state / 'secrets.env'}",
            "  a console user                  "
            'eval "$(python scripts/run_prod.py env)" && python -m backend create-user NAME',
            "  Ctrl-C stops everything",
        ]
    )


def start(state: Path, ports_from: int | None, binds: dict[str, Path] | None = None) -> int:
    plan = plan_for(state, ports_from, binds)
    env = topology_env(state, ports_from)
    db = Postgres(state / "postgres", plan.upstreams[("db", 5432)][0])
    redis = Redis(
        state / "redis",
        plan.upstreams[("redis", 6379)][0],
        list(compose_plan.load_compose()["redis"]["command"]),
    )
    db.ensure_cluster()
    db.start()
    try:
        db.ensure_databases(env["POSTGRES_PASSWORD"])
        redis.start()
        try:
            migrate(plan, state)
            stack = Stack(
                processes(plan, state),
                dict(os.environ),
                ready_banner=lambda seconds: banner(plan, state, seconds),
                title="make run-prod",
            )
            return asyncio.run(stack.run())
        finally:
            redis.stop()
    finally:
        db.stop()


def exports(state: Path, ports_from: int | None, binds: dict[str, Path] | None = None) -> str:
    plan = plan_for(state, ports_from, binds)
    backend = plan.of("backend")[0]
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(backend.env.items()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=["start", "env"], default="start")
    parser.add_argument("--state", type=Path, default=STATE, help="where its files live")
    parser.add_argument(
        "--ports-from",
        type=int,
        help="published ports from N (default 8000 and 8080), the rest after",
    )
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="SOURCE=DIR",
        help="a bind mount from another folder, e.g. ./nlu=/tmp/nlu-copy (as compose run "
        "from another checkout)",
    )
    args = parser.parse_args(argv)
    state = args.state.resolve()
    binds = {}
    for mount in args.mount:
        source, _, folder = mount.partition("=")
        binds[source] = Path(folder).resolve()
    if args.what == "env":
        print(exports(state, args.ports_from, binds))
        return 0
    return start(state, args.ports_from, binds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
