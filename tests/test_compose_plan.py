"""make run-prod runs what docker-compose.yml would: the same services and replicas, the same
commands, the same variables, nginx's own configuration (scripts/compose_plan.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scripts import compose_plan
from scripts.compose_plan import LOCAL, ROOT

SECRETS = {
    name: f"secret-{name.lower()}-0123456789abcdef" for name in compose_plan.required_names()
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> compose_plan.Plan:
    return compose_plan.build(
        SECRETS, tmp_path_factory.mktemp("state"), first_port=40100, published_from=40000
    )


def compose() -> dict[str, dict]:
    return compose_plan.load_compose()


def test_every_service_runs_with_its_replicas(plan: compose_plan.Plan) -> None:
    for name, service in compose().items():
        if name in compose_plan.PROVIDED:
            continue  # PostgreSQL, Redis and nginx: scripts/run_prod.py runs them
        assert len(plan.of(name)) == compose_plan.replicas_of(service), name
    counts = {
        name: len(plan.of(name)) for name in ("backend", "gateway", "rasa", "actions", "outreach")
    }
    assert counts == dict.fromkeys(counts, 2)
    assert len(plan.of("rasa-trainer")) == 1
    assert [r.name for r in plan.replicas if r.one_shot] == ["migrate-1"]


def untranslated(argv: list[str], replica: compose_plan.Replica) -> list[str]:
    """A local command back in the container's terms."""
    ports = {str(local): str(inside) for inside, local in replica.ports.items()}
    image = compose_plan.IMAGES[compose()[replica.service]["build"]["dockerfile"]]
    out = []
    for i, arg in enumerate(argv):
        before = argv[i - 1] if i else ""
        if i == 0:
            out.append(Path(arg).name)
        elif before == "--port":
            out.append(ports[arg])
        elif arg.startswith(str(image.app) + "/"):
            out.append("/app/" + arg[len(str(image.app)) + 1 :])
        else:
            out.append(arg)
    return out


def test_each_process_runs_its_images_command(plan: compose_plan.Plan) -> None:
    for replica in plan.replicas:
        service = compose()[replica.service]
        entrypoint, cmd = compose_plan.dockerfile_command(ROOT / service["build"]["dockerfile"])
        expected = entrypoint + list(service.get("command") or cmd)
        local = untranslated(replica.argv, replica)
        if replica.service in ("rasa", "rasa-trainer"):
            assert local[-2:] == ["--interface", LOCAL]  # what Rasa binds here
            local = local[:-2]
        expected = [LOCAL if a == "0.0.0.0" else a for a in expected]
        assert local == expected, replica.name


def test_each_process_gets_the_variables_compose_gives_it(plan: compose_plan.Plan) -> None:
    for replica in plan.replicas:
        wanted = set(compose()[replica.service].get("environment") or {})
        assert wanted <= set(replica.env), replica.name
        assert replica.env["APP_ENV"] == "production"
        extra = set(replica.env) - wanted
        assert extra <= {"GATEWAY_PORT", "TELEGRAM_WEBHOOK_PORT", "SPOOL_PATH", "SANIC_HOST"}


def test_addresses_reach_local_processes(plan: compose_plan.Plan) -> None:
    gateway = plan.of("gateway")[0].env
    db, redis = plan.upstreams[("db", 5432)][0], plan.upstreams[("redis", 6379)][0]
    assert gateway["RASA_URL"] == f"http://{plan.address('proxy', 5005)}"
    assert gateway["BACKEND_URL"] == f"http://{LOCAL}:40000"  # the proxy's port 80, published
    assert gateway["REDIS_URL"] == f"redis://{LOCAL}:{redis}/1"
    backend = plan.of("backend")[0].env
    assert f"@{LOCAL}:{db}/lender" in backend["DATABASE_URL"]
    assert backend["RASA_URL"] == f"http://{plan.address('rasa-trainer', 5005)}"
    rasa = plan.of("rasa")[1].env
    assert rasa["TRACKER_DB_HOST"] == f"{LOCAL}:{db}"
    assert (rasa["LOCK_STORE_HOST"], rasa["LOCK_STORE_PORT"]) == (LOCAL, str(redis))
    assert rasa["ACTION_SERVER_URL"] == f"http://{plan.address('proxy', 5055)}/webhook"
    # replicas listen apart, on this machine only
    assert plan.of("gateway")[0].env["GATEWAY_PORT"] != plan.of("gateway")[1].env["GATEWAY_PORT"]
    assert all(r.env.get("GATEWAY_HOST", LOCAL) == LOCAL for r in plan.replicas)


def test_secrets_and_volumes_follow_compose(plan: compose_plan.Plan, tmp_path: Path) -> None:
    backend = plan.of("backend")[0].env
    assert backend["SERVICE_TOKEN"] == SECRETS["SERVICE_TOKEN"]
    assert backend["SANDBOX_PAYMENTS"] == "false"  # compose's default
    assert backend["NLU_DIR"] == str(ROOT / "nlu")  # ./nlu:/app/nlu
    assert backend["NLU_MODELS_DIR"].endswith("volumes/nlu-models")
    spools = {r.env["SPOOL_PATH"] for r in plan.of("gateway")}
    assert len(spools) == 1 and next(iter(spools)).endswith(
        "volumes/gateway-spool/gateway-spool.sqlite3"
    )
    with pytest.raises(compose_plan.MissingVariable, match="set POSTGRES_PASSWORD"):
        compose_plan.build({}, tmp_path)


def test_nginx_runs_deploy_conf_with_only_servers_and_ports_changed(
    plan: compose_plan.Plan,
) -> None:
    shipped = compose_plan.NGINX_CONF.read_text().splitlines()
    local = plan.nginx_conf.splitlines()
    assert len(shipped) == len(local)
    for ours, theirs in zip(shipped, local, strict=True):
        if ours == theirs:
            continue
        if ours.strip().startswith("listen"):
            assert re.fullmatch(rf"\s*listen {LOCAL}:\d+;", theirs)
        else:  # an upstream's server, on its own line or on the upstream's
            assert re.sub(r"server [^;]+;( server [^;]+;)*", "server ;", theirs) == re.sub(
                r"server [^;]+;", "server ;", ours
            )
    assert re.search(rf"upstream rasa {{\s+server {LOCAL}:", plan.nginx_conf)
    rasa_ports = plan.upstreams[("rasa", 5005)]
    assert all(f"server {LOCAL}:{port};" in plan.nginx_conf for port in rasa_ports)
    assert f"listen {LOCAL}:40001;" in plan.nginx_conf  # the web chat's published port


def gateway_keep_alive(monkeypatch: pytest.MonkeyPatch) -> float:
    """What `python -m bot serve` (docker-compose.yml's and the Procfile's command) asks of
    uvicorn: its own default is 5 s."""
    import bot.__main__ as gateway

    asked: dict[str, Any] = {}
    monkeypatch.setattr(gateway.uvicorn, "run", lambda app, **options: asked.update(options))
    monkeypatch.setenv("APP_ENV", "development")
    assert gateway.main(["serve"]) == 0
    return float(asked.get("timeout_keep_alive", 5))


def servers_keep_alive(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Seconds each service keeps an idle connection open."""
    assert compose()["gateway"]["command"] == ["python", "-m", "bot", "serve"]
    command = compose()["backend"]["command"]
    actions = (ROOT / "actions" / "serve.py").read_text()  # Rasa's virtualenv: not importable
    return {
        "backend": float(command[command.index("--timeout-keep-alive") + 1]),
        "actions": float(re.search(r"^KEEP_ALIVE_SECONDS = (\d+)", actions, re.M).group(1)),  # type: ignore[union-attr]
        "gateway": gateway_keep_alive(monkeypatch),
        "rasa": 120.0,  # Rasa 3.6's DEFAULT_KEEP_ALIVE_TIMEOUT
    }


def test_nginx_keeps_its_connections_to_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """`keepalive` in an upstream does nothing unless each location that uses it speaks HTTP/1.1
    and clears the Connection header; an idle connection must be given up well before the
    service's own keep-alive closes it."""
    conf = compose_plan.NGINX_CONF.read_text()
    upstreams = dict(re.findall(r"^upstream\s+(\w+)\s*\{([^}]*)\}", conf, flags=re.M))
    kept = {name for name, body in upstreams.items() if re.search(r"\bkeepalive\s+\d+;", body)}
    assert kept == {"backend", "gateway", "rasa", "actions"}
    for name, server_seconds in servers_keep_alive(monkeypatch).items():
        given_up = re.search(r"\bkeepalive_timeout\s+(\d+)s;", upstreams[name])
        assert given_up and float(given_up.group(1)) + 10 <= server_seconds, name
    locations = re.findall(r"location[^{]*\{([^}]*)\}", conf)
    for body in locations:
        passed = re.search(r"proxy_pass http://(\w+);", body)
        if passed and passed.group(1) in kept:
            assert "proxy_http_version 1.1;" in body, passed.group(1)
            assert 'proxy_set_header Connection "";' in body, passed.group(1)


def test_compose_variables_are_interpolated_as_compose_does() -> None:
    env = {"A": "a", "EMPTY": ""}
    assert compose_plan.interpolate("${A}-${B:-dflt}-${EMPTY:-x}-$$", env) == "a-dflt-x-$"
    with pytest.raises(compose_plan.MissingVariable, match="C: set C"):
        compose_plan.interpolate("${C:?set C}", env)


def test_the_launchers_commands_are_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run-prod" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/run_prod.py" in makefile
