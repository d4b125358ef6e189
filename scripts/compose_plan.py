"""docker-compose.yml as processes on this machine: what `make run-prod` (scripts/run_prod.py)
starts, read from the very files compose uses, so that what runs here is what compose would run.

Each service becomes as many processes as its replicas, with the command its image runs (the
compose `command`, else the Dockerfile's ENTRYPOINT and CMD) and the environment compose gives
it (`${VAR:?..}`, `${VAR:-default}` filled from the launcher's environment). What a container
would have differently is translated, and only that:

- an address `service:port` (compose's DNS) becomes `127.0.0.1:<a local port>`: the proxy's
  ports, PostgreSQL's, Redis's, a single replica's; a `*_HOST` variable naming a service and
  its `*_PORT` partner likewise;
- a replica listens on a port of its own on 127.0.0.1 (`--port`, `--host 0.0.0.0`, the
  gateway's GATEWAY_PORT and TELEGRAM_WEBHOOK_PORT), where the proxy's upstream finds it;
- `python` and `uvicorn` are the project's virtualenvs' (.venv for the backend and gateway
  images, .venv-rasa for Rasa's and the action server's), `/app` is what the image copies
  there, and a volume is a folder under the launcher's state folder;
- deploy/nginx.conf gets its upstreams' servers and its listen ports rewritten, nothing else.

db, redis and proxy are images we do not build: the launcher runs PostgreSQL, redis-server and
nginx for them (scripts/run_prod.py). tests/test_compose_plan.py keeps this and compose in step.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
LOCAL = "127.0.0.1"
# The services whose images are not ours: the launcher runs the same software itself.
PROVIDED = ("db", "redis", "proxy")
# Commands run once before the others (compose: `restart: "no"` and a completed condition).
ONE_SHOT = "no"


@dataclass(frozen=True)
class Image:
    """What one of our Dockerfiles is on this machine."""

    venv: Path  # whose python and uvicorn its commands run
    app: Path  # what its /app holds
    # Settings whose default is a port or an address the container listens on.
    listen_ports: dict[str, int] = field(default_factory=dict)
    listen_hosts: tuple[str, ...] = ()
    # Settings whose default is a path inside the container (a volume's, for instance).
    paths: dict[str, str] = field(default_factory=dict)


IMAGES = {
    "backend/Dockerfile": Image(ROOT / ".venv", ROOT),
    "bot/Dockerfile": Image(
        ROOT / ".venv",
        ROOT,
        listen_ports={"GATEWAY_PORT": 8080, "TELEGRAM_WEBHOOK_PORT": 8443},
        listen_hosts=("GATEWAY_HOST", "TELEGRAM_WEBHOOK_LISTEN"),
        paths={"SPOOL_PATH": "/app/var/gateway-spool.sqlite3"},
    ),
    "actions/Dockerfile": Image(ROOT / ".venv-rasa", ROOT, listen_hosts=("SANIC_HOST",)),
    "nlu/Dockerfile": Image(ROOT / ".venv-rasa", ROOT / "nlu"),
}


@dataclass
class Replica:
    """One process of a service."""

    service: str
    index: int  # 1, 2, ...
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    ports: dict[int, int]  # container port -> local port
    one_shot: bool = False

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Plan:
    replicas: list[Replica]
    addresses: dict[tuple[str, int], int]  # (service, container port) -> local port
    upstreams: dict[tuple[str, int], list[int]]  # the replicas' local ports behind an address
    nginx_conf: str  # deploy/nginx.conf with local servers and ports
    published: dict[int, int]  # the proxy's container port -> the local port users open
    volumes: dict[str, Path]

    def address(self, service: str, port: int) -> str:
        return f"{LOCAL}:{self.addresses[(service, port)]}"

    def of(self, service: str) -> list[Replica]:
        return [r for r in self.replicas if r.service == service]


def load_compose(path: Path = COMPOSE) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    services: dict[str, Any] = document["services"]
    return services


def replicas_of(service: dict[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def container_ports(name: str, service: dict[str, Any]) -> list[int]:
    """The ports a service listens on: what it exposes or publishes (container side)."""
    ports = [int(p) for p in service.get("expose", [])]
    ports += [int(str(p).rsplit(":", 1)[-1]) for p in service.get("ports", [])]
    return sorted(set(ports))


_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}"
)


class MissingVariable(ValueError):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}; $$ is a dollar."""

    def fill(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = env.get(name, "")
        if value:
            return value
        if op == ":?":
            raise MissingVariable(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return _VARIABLE.sub(fill, text)


def dockerfile_command(dockerfile: Path) -> tuple[list[str], list[str]]:
    """The image's ENTRYPOINT and CMD (exec form), the last of each."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            entrypoint = json.loads(line.removeprefix("ENTRYPOINT "))
        elif line.startswith("CMD "):
            cmd = json.loads(line.removeprefix("CMD "))
    return entrypoint, cmd


def allocate(compose: dict[str, Any], first_port: int, published_from: int | None) -> Plan:
    """Local ports for every replica and every address; nothing started."""
    addresses: dict[tuple[str, int], int] = {}
    upstreams: dict[tuple[str, int], list[int]] = {}
    published: dict[int, int] = {}
    next_port = first_port

    def take() -> int:
        nonlocal next_port
        next_port += 1
        return next_port - 1

    proxy = compose["proxy"]
    for i, mapping in enumerate(proxy.get("ports", [])):
        outside, inside = (int(p) for p in str(mapping).rsplit(":", 1))
        published[inside] = outside if published_from is None else published_from + i
        addresses[("proxy", inside)] = published[inside]
    for port in proxy_listen_ports():
        if ("proxy", port) not in addresses:
            addresses[("proxy", port)] = take()
    for name, service in compose.items():
        if name == "proxy":
            continue
        ports = container_ports(name, service) or {"db": [5432], "redis": [6379]}.get(name, [])
        for port in ports:
            locals_ = [take() for _ in range(replicas_of(service))]
            upstreams[(name, port)] = locals_
            if len(locals_) == 1:
                addresses[(name, port)] = locals_[0]
    return Plan([], addresses, upstreams, "", published, {})


def proxy_listen_ports(conf: str | None = None) -> list[int]:
    conf = NGINX_CONF.read_text() if conf is None else conf
    return [int(p) for p in re.findall(r"^\s*listen\s+(\d+)\s*;", conf, flags=re.M)]


def local_nginx_conf(conf: str, plan: Plan) -> str:
    """deploy/nginx.conf with each upstream's server replaced by the local replicas behind it
    and each listen port by its local one."""

    def servers(match: re.Match[str]) -> str:
        service, port = match.group("service"), int(match.group("port"))
        return " ".join(f"server {LOCAL}:{p};" for p in plan.upstreams[(service, port)])

    def upstream(block: re.Match[str]) -> str:
        return re.sub(r"\bserver\s+(?P<service>[\w-]+):(?P<port>\d+);", servers, block.group())

    conf = re.sub(r"^upstream\s+\w+\s*\{[^}]*\}", upstream, conf, flags=re.M)
    return re.sub(
        r"^(?P<indent>\s*)listen\s+(?P<port>\d+)\s*;",
        lambda m: (
            f"{m.group('indent')}listen {LOCAL}:{plan.addresses[('proxy', int(m.group('port')))]};"
        ),
        conf,
        flags=re.M,
    )


def translate(value: str, plan: Plan) -> str:
    """`service:port` (in a URL or alone) -> the local address compose's DNS would reach."""

    def address(match: re.Match[str]) -> str:
        key = (match.group("service"), int(match.group("port")))
        if key not in plan.addresses:
            return match.group(0)
        return f"{match.group('lead')}{LOCAL}:{plan.addresses[key]}"

    return re.sub(r"(?P<lead>^|//|@)(?P<service>[a-z][a-z0-9-]*):(?P<port>\d+)", address, value)


def translate_host_pairs(env: dict[str, str], plan: Plan, services: set[str]) -> None:
    """FOO_HOST=service with FOO_PORT=port (Rasa's lock store takes them apart)."""
    for name, value in list(env.items()):
        if name.endswith("_HOST") and value in services:
            port_name = name.removesuffix("_HOST") + "_PORT"
            port = int(env.get(port_name, "0"))
            if (value, port) in plan.addresses:
                env[name] = LOCAL
                env[port_name] = str(plan.addresses[(value, port)])


def volume_paths(
    service: dict[str, Any], state: Path, binds: dict[str, Path] | None = None
) -> dict[str, Path]:
    """Container path -> local folder, for every volume the service mounts. A bind mount's
    source is this checkout's folder, unless `binds` names another (as compose run from
    another checkout would mount that one's)."""
    mounts: dict[str, Path] = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            local = (binds or {}).get(source) or (ROOT / source).resolve()
        else:
            local = state / "volumes" / source
        mounts[target] = local
    return mounts


def local_path(path: str, image: Image, mounts: dict[str, Path]) -> str:
    for target, local in sorted(mounts.items(), key=lambda m: -len(m[0])):
        if path == target or path.startswith(target + "/"):
            return str(local / path[len(target) :].lstrip("/"))
    if path == "/app" or path.startswith("/app/"):
        return str(image.app / path[len("/app") :].lstrip("/"))
    return path


def local_argv(
    argv: list[str], image: Image, port_of: dict[int, int], mounts: dict[str, Path]
) -> list[str]:
    out: list[str] = []
    for i, arg in enumerate(argv):
        before = argv[i - 1] if i else ""
        if i == 0 and arg in ("python", "uvicorn"):
            out.append(str(image.venv / "bin" / arg))
        elif before == "--port" and int(arg) in port_of:
            out.append(str(port_of[int(arg)]))
        elif before in ("--host", "--interface") and arg == "0.0.0.0":  # noqa: S104
            out.append(LOCAL)
        else:
            out.append(local_path(arg, image, mounts))
    return out


def build(
    env: dict[str, str],
    state: Path,
    *,
    first_port: int = 18100,
    published_from: int | None = None,
    compose: dict[str, Any] | None = None,
    binds: dict[str, Path] | None = None,
) -> Plan:
    """The local processes for docker-compose.yml. `env` fills its variables (the launcher's
    environment and generated secrets); `state` holds volumes and per-process files."""
    compose = load_compose() if compose is None else compose
    plan = allocate(compose, first_port, published_from)
    plan.nginx_conf = local_nginx_conf(NGINX_CONF.read_text(), plan)
    services = set(compose)
    for name, service in compose.items():
        build_ = service.get("build")
        if name in PROVIDED or not build_:
            continue
        image = IMAGES[build_["dockerfile"]]
        entrypoint, cmd = dockerfile_command(ROOT / build_["dockerfile"])
        argv = entrypoint + list(service.get("command") or cmd)
        mounts = volume_paths(service, state, binds)
        plan.volumes.update({str(p): p for p in mounts.values()})
        raw_env = service.get("environment") or {}
        for index in range(1, replicas_of(service) + 1):
            port_of = {
                port: plan.upstreams[(name, port)][index - 1]
                for port in container_ports(name, service)
            }
            replica_env = {k: translate(interpolate(str(v), env), plan) for k, v in raw_env.items()}
            translate_host_pairs(replica_env, plan, services)
            for setting, port in image.listen_ports.items():
                replica_env[setting] = str(port_of[port])
            for setting in image.listen_hosts:
                replica_env[setting] = LOCAL
            for setting, path in image.paths.items():
                replica_env.setdefault(setting, local_path(path, image, mounts))
            for setting, value in list(replica_env.items()):
                if value.startswith("/"):
                    replica_env[setting] = local_path(value, image, mounts)
            replica = Replica(
                service=name,
                index=index,
                argv=local_argv(argv, image, port_of, mounts),
                env=replica_env,
                cwd=image.app,
                ports=port_of,
                one_shot=service.get("restart") == ONE_SHOT,
            )
            if build_["dockerfile"] == "nlu/Dockerfile" and "--interface" not in replica.argv:
                # Rasa listens on every interface by default: here, on this machine's only.
                replica.argv += ["--interface", LOCAL]
            plan.replicas.append(replica)
    return plan


def environment_names(compose: dict[str, Any] | None = None) -> set[str]:
    """Every ${VAR} docker-compose.yml reads."""
    text = COMPOSE.read_text() if compose is None else yaml.safe_dump(compose)
    return {m.group("name") for m in _VARIABLE.finditer(text) if m.group("name")}


def required_names() -> set[str]:
    """The ${VAR:?..} ones: compose refuses to start without them."""
    return {
        m.group("name") for m in _VARIABLE.finditer(COMPOSE.read_text()) if m.group("op") == ":?"
    }


if __name__ == "__main__":  # a look at the plan: python scripts/compose_plan.py
    names = {n: "x" * 40 for n in environment_names()}
    shown = build({**names, **os.environ}, ROOT / "var" / "prod")
    for r in shown.replicas:
        print(r.name, r.ports, r.command)
    print(shown.nginx_conf)
