"""The README's commands, the Procfile (make run) and docker-compose.yml stay in step, and the
configuration compose and .env.example describe passes production's start-up checks."""

import ast
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_readme_starts_with_make_run_then_make_test() -> None:
    commands = re.findall(r"^\s*(make \w+)", (ROOT / "README.md").read_text(), flags=re.M)
    assert commands[:2] == ["make run", "make test"]


def test_every_procfile_process_is_a_compose_service() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in procfile():
        assert name in services, f"{name} runs in make run but not in docker-compose.yml"
    assert "backend.main:create_app" in " ".join(services["backend"]["command"])
    assert services["rasa"]["build"]["dockerfile"] == "nlu/Dockerfile"
    assert services["actions"]["build"]["dockerfile"] == "actions/Dockerfile"
    for dockerfile, image in (
        ("nlu/Dockerfile", "rasa/rasa:3.6.21"),
        ("actions/Dockerfile", "rasa/rasa-sdk:3.6.2"),
    ):
        assert f"FROM {image}" in (ROOT / dockerfile).read_text()


def test_compose_demands_real_secrets_in_production() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in ("SERVICE_TOKEN", "ID_HASH_KEY", "POSTGRES_PASSWORD"):
        assert f"${{{secret}:?" in text
    assert "dev-" not in text


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_env_example_documents_every_setting() -> None:
    from backend.config import Settings
    from bot.config import GatewaySettings

    documented = env_example_names()
    for settings in (Settings, GatewaySettings):
        assert {name.upper() for name in settings.model_fields} <= documented


def environment_reads(tree: ast.AST) -> Iterator[str]:
    """Names read with os.environ.get("X"), os.environ["X"], os.getenv("X") (or environ/getenv
    imported from os), whatever the default."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            if func.endswith(("environ.get", "environ.setdefault", "getenv")):
                key = node.args[0]
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value).endswith("environ")
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            yield node.slice.value


def test_env_example_documents_every_variable_the_code_reads() -> None:
    """Beside the settings classes, scripts read the environment themselves (the terminal chat's
    GATEWAY_URL, the benchmarks' database): found by reading the code, not listed by hand."""
    read: dict[str, str] = {}
    for folder in ("backend", "bot", "actions", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in environment_reads(ast.parse(path.read_text(), str(path))):
                read.setdefault(name, str(path.relative_to(ROOT)))
    assert "GATEWAY_URL" in read  # the scan finds what it should (bot/chat.py)
    # make run's own: the Procfile's ${VAR}s and what scripts/run_stack.py derives addresses from
    for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "Procfile").read_text()):
        read.setdefault(name, "Procfile")
    launcher = (ROOT / "scripts" / "run_stack.py").read_text()
    for name in re.findall(r"(?:get|setdefault)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", launcher):
        read.setdefault(name, "scripts/run_stack.py")
    assert {"ACTION_SERVER_PORT", "RASA_HOST", "GATEWAY_PORT"} <= set(read)
    system = {"PATH", "HOME"}  # the shell's own, passed on to processes the benchmarks start
    missing = {
        name: where
        for name, where in read.items()
        if name not in env_example_names() and name not in system
    }
    assert not missing, f"read from the environment but not in .env.example: {missing}"


def test_readme_production_names_every_variable_compose_reads() -> None:
    readme = (ROOT / "README.md").read_text()
    production = readme.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose))):
        assert f"`{name}`" in production, f"README's Production section does not name {name}"


def test_the_gateway_runs_the_same_command_in_both_and_takes_telegram_by_webhook() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    gateway = services["gateway"]
    assert " ".join(gateway["command"]).endswith(procfile()["gateway"].split("/bin/")[-1])
    assert gateway["environment"]["TELEGRAM_MODE"] == "webhook"
    assert gateway["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert gateway["build"]["dockerfile"] == "bot/Dockerfile"


# The production secrets compose demands (${VAR:?...}), generated as make run-prod does; the
# one required value that is no secret is given as an operator would.
NOT_SECRETS = {"PUBLIC_BASE_URL": "https://lender.example.com"}
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::([?-])([^}]*))?\}")


def compose_environment(service: str, given: dict[str, str]) -> dict[str, str]:
    """A service's environment as compose resolves it: a variable from `given`, else its
    `:-` default; a `:?` one must be given."""

    def resolve(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if name in given:
            return given[name]
        assert kind == "-", f"{service} needs {name}"
        return default

    environment = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service][
        "environment"
    ]
    return {k: COMPOSE_VARIABLE.sub(resolve, str(v)) for k, v in environment.items()}


def generated_secrets() -> dict[str, str]:
    required = re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", (ROOT / "docker-compose.yml").read_text())
    return {name: secrets.token_urlsafe(32) for name in required} | NOT_SECRETS


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[dict[str, str]], None]:
    """Make `env` the settings' whole environment: no developer's variables or .env."""
    from backend.config import Settings
    from bot.config import GatewaySettings

    monkeypatch.chdir(tmp_path)
    for settings in (Settings, GatewaySettings):
        for name in settings.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)

    def set_all(env: dict[str, str]) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return set_all


@pytest.mark.parametrize("service", ["migrate", "backend", "outreach"])
def test_compose_with_generated_secrets_passes_the_backends_checks(
    service: str, only: Callable[[dict[str, str]], None]
) -> None:
    from backend.config import Settings

    env = compose_environment(service, generated_secrets())
    assert env["APP_ENV"] == "production"
    assert (env["SANDBOX_PAYMENTS"], env["SANDBOX_WEBHOOK_SECRET"]) == ("false", "")
    only(env)
    settings = Settings()  # raises with a line per problem if production refused it
    assert settings.sandbox_payments is False


def test_compose_with_generated_secrets_passes_the_gateways_checks(
    only: Callable[[dict[str, str]], None],
) -> None:
    from bot.config import GatewaySettings

    env = compose_environment("gateway", generated_secrets())
    only(env)
    assert GatewaySettings().app_env == "production"


def test_compose_with_a_development_secret_is_refused(
    only: Callable[[dict[str, str]], None],
) -> None:
    """The checks above do run: the same environment with one dev-* secret fails."""
    from pydantic import ValidationError

    from backend.config import Settings

    only(compose_environment("backend", {**generated_secrets(), "ID_HASH_KEY": "dev-id-hash-key"}))
    with pytest.raises(ValidationError, match="production refuses ID_HASH_KEY"):
        Settings()


def test_env_example_passes_as_it_is_and_in_production_with_its_dev_secrets_replaced(
    only: Callable[[dict[str, str]], None],
) -> None:
    """.env.example is the development configuration; an operator who sets APP_ENV=production
    and replaces every dev-* value with a generated secret has a configuration that starts."""
    from backend.config import Settings
    from bot.config import GatewaySettings

    text = (ROOT / ".env.example").read_text()
    example = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.M))
    only(example)
    assert Settings().app_env == GatewaySettings().app_env == "development"
    real = {k: secrets.token_urlsafe(32) for k, v in example.items() if v.startswith("dev-")}
    assert {"SERVICE_TOKEN", "ID_HASH_KEY", "RASA_TOKEN", "WEBCHAT_SECRET"} <= set(real)
    only({**real, "APP_ENV": "production"})
    assert Settings().sandbox_payments is False
    assert GatewaySettings().app_env == "production"
