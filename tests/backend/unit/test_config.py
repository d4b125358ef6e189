from datetime import date

import pytest
from pydantic import ValidationError

from backend.config import Settings


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="SERVICE_TOKEN"):
        Settings(app_env="production", id_hash_key="x" * 32, sandbox_webhook_secret="y" * 32)


def test_production_starts_with_real_secrets() -> None:
    s = Settings(
        app_env="production",
        service_token="a" * 32,
        id_hash_key="b" * 32,
        rasa_token="d" * 32,
        sandbox_webhook_secret="c" * 32,
    )
    assert s.app_env == "production"
    assert s.sandbox_payments is False  # off unless asked for, and refused when asked for


def test_production_needs_no_sandbox_secret_with_the_sandbox_off() -> None:
    """docker-compose.yml leaves SANDBOX_WEBHOOK_SECRET empty with SANDBOX_PAYMENTS=false."""
    s = Settings(
        app_env="production",
        service_token="a" * 32,
        id_hash_key="b" * 32,
        rasa_token="d" * 32,
        sandbox_payments=False,
        sandbox_webhook_secret="",
    )
    assert s.sandbox_payments is False


def test_production_refuses_sandbox_payments() -> None:
    with pytest.raises(ValidationError, match="SANDBOX_PAYMENTS=false"):
        Settings(
            app_env="production",
            service_token="a" * 32,
            id_hash_key="b" * 32,
            sandbox_payments=True,
            sandbox_webhook_secret="c" * 32,
        )


def test_the_sandbox_needs_its_secret_wherever_it_runs() -> None:
    assert Settings().sandbox_payments is True  # on by default outside production
    with pytest.raises(ValidationError, match="needs SANDBOX_WEBHOOK_SECRET"):
        Settings(sandbox_payments=True, sandbox_webhook_secret="")
    assert Settings(sandbox_payments=False, sandbox_webhook_secret="").sandbox_payments is False


def test_an_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Settings(business_timezone="Mars/Olympus")


def test_business_date_can_be_fixed() -> None:
    assert Settings(business_date=date(2026, 1, 2)).today() == date(2026, 1, 2)
