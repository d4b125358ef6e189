"""What the gateway refuses before it starts (bot/config.py, bot/config_rules.py): an unknown
APP_ENV anywhere, and in production every development, short or guessable secret it uses, each
on a line of its own that names the variable."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from bot.config import GatewaySettings
from bot.config_rules import setting_problems

REAL = {
    "service_token": secrets.token_hex(32),
    "rasa_token": secrets.token_hex(32),
    "webchat_secret": secrets.token_hex(32),
}


def problems(**settings: object) -> list[str]:
    """The lines `python -m bot serve` prints for these settings."""
    with pytest.raises(ValidationError) as refused:
        GatewaySettings(**settings)  # type: ignore[arg-type]
    return setting_problems(refused.value.errors())


def refused_names(lines: list[str]) -> list[str]:
    return [line.removeprefix("production refuses ").split(":")[0] for line in lines]


def test_production_starts_with_generated_secrets() -> None:
    assert GatewaySettings(app_env="production", **REAL).app_env == "production"


def test_production_names_each_refused_secret_once() -> None:
    lines = problems(
        app_env="production",
        service_token="1234567890123456",
        rasa_token="passwordpassword",
        webchat_secret="dev-webchat-secret",
        telegram_webhook_secret="aaaaaaaaaaaaaaaaaaaa",
        redis_url="redis://:short@redis:6379/1",
    )
    assert refused_names(lines) == [
        "TELEGRAM_WEBHOOK_SECRET",
        "SERVICE_TOKEN",
        "RASA_TOKEN",
        "WEBCHAT_SECRET",
        "the password in REDIS_URL",
    ]
    assert all(line.endswith("e.g. from `openssl rand -hex 32`") for line in lines)


def test_the_metrics_token_is_checked_when_set() -> None:
    (line,) = problems(app_env="production", **REAL, metrics_token="0000000000000000")
    assert line.startswith("production refuses METRICS_TOKEN: it is easy to guess")


def test_the_web_chat_secret_keeps_its_32_characters() -> None:
    (line,) = problems(app_env="production", **{**REAL, "webchat_secret": secrets.token_hex(12)})
    assert line.startswith("production refuses WEBCHAT_SECRET: it is shorter than 32 characters")


def test_a_webhook_without_url_or_secret_says_both() -> None:
    webhook = {"telegram_bot_token": "1:x", "telegram_mode": "webhook"}
    lines = problems(app_env="production", **REAL, **webhook)
    assert lines == [
        "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL",
        "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (16 characters or more: A-Z, a-z, "
        "0-9, _ and -)",
    ]


def test_a_telegram_secret_is_checked_only_when_set() -> None:
    assert GatewaySettings(app_env="production", **REAL, telegram_webhook_secret=None)
    assert GatewaySettings(
        app_env="production", **REAL, telegram_webhook_secret=secrets.token_hex(32)
    )


@pytest.mark.parametrize("app_env", ["Production", "prod", " production"])
def test_an_unknown_app_env_is_refused_with_the_known_ones(app_env: str) -> None:
    assert problems(app_env=app_env, **REAL) == [
        f"APP_ENV={app_env!r} is not known: set it to one of development, test, production "
        "(exactly)"
    ]


def test_development_keeps_its_defaults() -> None:
    assert GatewaySettings(app_env="development").webchat_secret == "dev-webchat-secret"
