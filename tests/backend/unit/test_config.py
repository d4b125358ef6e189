import secrets
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.config import Settings, get_settings
from backend.config_rules import setting_problems

REAL = {
    "service_token": secrets.token_hex(32),
    "id_hash_key": secrets.token_hex(32),
    "rasa_token": secrets.token_hex(32),
}


def problems(**settings: object) -> list[str]:
    """The lines start-up prints for these settings (backend/startup.py)."""
    with pytest.raises(ValidationError) as refused:
        Settings(**settings)  # type: ignore[arg-type]
    return setting_problems(refused.value.errors())


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="SERVICE_TOKEN"):
        Settings(app_env="production", id_hash_key="x" * 32, sandbox_webhook_secret="y" * 32)


def test_production_names_every_refused_secret_on_a_line_of_its_own() -> None:
    assert problems(
        app_env="production",
        service_token="dev-service-token",
        id_hash_key="short",
        rasa_token="aaaaaaaaaaaaaaaaaaaa",
        database_url="postgresql+psycopg://lender:passwordpassword@db:5432/lender",
    ) == [
        f"production refuses {name}: {reason}; set a random one, e.g. from `openssl rand -hex 32`"
        for name, reason in [
            ("SERVICE_TOKEN", "it is a development default (dev-...)"),
            ("ID_HASH_KEY", "it is shorter than 16 characters"),
            ("RASA_TOKEN", "it is easy to guess (repeated characters, sequences or common words)"),
            ("the password in DATABASE_URL", "it is easy to guess (repeated characters, "
             "sequences or common words)"),
        ]
    ]  # fmt: skip


def test_the_metrics_token_is_checked_when_set() -> None:
    (line,) = problems(app_env="production", **REAL, metrics_token="metricsmetricsmetrics")
    assert line.startswith("production refuses METRICS_TOKEN: it is easy to guess")
    assert Settings(app_env="production", **REAL, metrics_token=secrets.token_hex()).metrics_token


def test_the_sandbox_and_the_secrets_are_refused_together() -> None:
    lines = problems(app_env="production", sandbox_payments=True, **{**REAL, "rasa_token": "x"})
    assert lines[0].startswith("production refuses sandbox payments")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "production refuses RASA_TOKEN",
        "production refuses SANDBOX_WEBHOOK_SECRET",  # the sandbox's default, while it is on
    ]


@pytest.mark.parametrize("app_env", ["Production", "prod", " production", "staging"])
def test_an_unknown_app_env_is_one_line_listing_the_known_ones(app_env: str) -> None:
    assert problems(app_env=app_env) == [
        f"APP_ENV={app_env!r} is not known: set it to one of development, test, production "
        "(exactly)"
    ]


def test_development_and_test_keep_the_development_secrets() -> None:
    for app_env in ("development", "test"):
        assert Settings(app_env=app_env).service_token == "dev-service-token"


def test_production_starts_with_real_secrets() -> None:
    s = Settings(app_env="production", **REAL, sandbox_webhook_secret="c" * 32)
    assert s.app_env == "production"
    assert s.sandbox_payments is False  # off unless asked for, and refused when asked for


def test_production_needs_no_sandbox_secret_with_the_sandbox_off() -> None:
    """docker-compose.yml leaves SANDBOX_WEBHOOK_SECRET empty with SANDBOX_PAYMENTS=false."""
    s = Settings(app_env="production", **REAL, sandbox_payments=False, sandbox_webhook_secret="")
    assert s.sandbox_payments is False


def test_production_refuses_sandbox_payments() -> None:
    with pytest.raises(ValidationError, match="SANDBOX_PAYMENTS=false"):
        Settings(
            app_env="production",
            **REAL,
            sandbox_payments=True,
            sandbox_webhook_secret=secrets.token_hex(32),
        )


def test_the_sandbox_needs_its_secret_wherever_it_runs() -> None:
    assert Settings().sandbox_payments is True  # on by default outside production
    with pytest.raises(ValidationError, match="needs SANDBOX_WEBHOOK_SECRET"):
        Settings(sandbox_payments=True, sandbox_webhook_secret="")
    assert Settings(sandbox_payments=False, sandbox_webhook_secret="").sandbox_payments is False


def test_an_unknown_time_zone_is_a_clear_error() -> None:
    assert problems(business_timezone="Mars/Olympus") == [
        "BUSINESS_TIMEZONE: unknown time zone 'Mars/Olympus'"
    ]


def test_business_date_can_be_fixed() -> None:
    assert Settings(business_date=date(2026, 1, 2)).today() == date(2026, 1, 2)


def test_the_app_factory_stops_with_the_lines_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What uvicorn's --factory (docker-compose.yml) calls: a SystemExit carrying the lines,
    which Python prints alone on stderr with status 1."""
    from backend.main import create_app

    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("APP_ENV", "Production")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as refused:
            create_app()
    finally:
        get_settings.cache_clear()
    assert refused.value.code == (
        "APP_ENV='Production' is not known: set it to one of development, test, production "
        "(exactly)"
    )
