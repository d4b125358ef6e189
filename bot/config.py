"""The gateway's settings, from the environment (and `.env`), read once at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: str = "development"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # Where the backend and Rasa listen (Rasa with --enable-api for trackers).
    backend_url: str = "http://127.0.0.1:8000"
    service_token: str = "dev-service-token"  # noqa: S105
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str | None = None  # Rasa's --auth-token, when it is started with one
    rasa_timeout_seconds: float = 30.0
    backend_timeout_seconds: float = 10.0
    # Telegram: nothing starts without a token. Polling for development, webhook in production.
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_poll_interval: float = 0.0
    telegram_webhook_url: str | None = None  # the public https address Telegram posts to
    telegram_webhook_secret: str | None = None  # checked on every webhook call
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    # Telegram lets a bot send about 30 messages a second overall (and 1 a second per chat):
    # with several gateway replicas, give each its share.
    telegram_messages_per_second: float = 30.0
    # Shared state of several gateway replicas (seen updates, web chat push); memory when unset.
    redis_url: str | None = None
    # Messages the backend could not take are kept here and logged once it is back.
    spool_path: Path = ROOT / "var" / "gateway-spool.sqlite3"
    outbound_poll_seconds: float = 1.0
    webchat_messages_per_minute: int = 30

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> GatewaySettings:
        if self.telegram_bot_token and self.telegram_mode == "webhook":
            if not self.telegram_webhook_url:
                raise ValueError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
            if not self.telegram_webhook_secret or len(self.telegram_webhook_secret) < 16:
                raise ValueError(
                    "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (16 characters or more: "
                    "A-Z, a-z, 0-9, _ and -)"
                )
        if self.app_env == "production" and (
            self.service_token.startswith("dev-") or len(self.service_token) < 16
        ):
            raise ValueError("production refuses a development or short SERVICE_TOKEN")
        return self


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
