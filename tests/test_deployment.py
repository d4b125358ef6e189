"""The README's commands, the Procfile (make run) and docker-compose.yml stay in step."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

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
    missing = {name: where for name, where in read.items() if name not in env_example_names()}
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
