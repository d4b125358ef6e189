"""The README's commands, the Procfile (make run) and docker-compose.yml stay in step."""

import re
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


def test_env_example_documents_every_setting() -> None:
    from backend.config import Settings
    from bot.config import GatewaySettings

    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.M)
    )
    for settings in (Settings, GatewaySettings):
        assert {name.upper() for name in settings.model_fields} <= documented


def test_the_gateway_runs_the_same_command_in_both_and_takes_telegram_by_webhook() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    gateway = services["gateway"]
    assert " ".join(gateway["command"]).endswith(procfile()["gateway"].split("/bin/")[-1])
    assert gateway["environment"]["TELEGRAM_MODE"] == "webhook"
    assert gateway["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert gateway["build"]["dockerfile"] == "bot/Dockerfile"
