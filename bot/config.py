"""The gateway's settings, from the environment (and `.env`), read once at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config_rules import MIN_SECRET_LENGTH, app_env_problem, secret_problem, url_password

ROOT = Path(__file__).resolve().parent.parent
# Signs the WhatsApp sandbox's webhook calls when WHATSAPP_APP_SECRET is unset (development).
SANDBOX_WHATSAPP_SECRET = "sandbox-whatsapp-app-secret"  # noqa: S105
MIN_WEBCHAT_SECRET_LENGTH = 32


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: str = "development"  # exactly development, test or production (config_rules.py)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # Where the backend and Rasa listen (Rasa with --enable-api for trackers).
    backend_url: str = "http://127.0.0.1:8000"
    service_token: str = "dev-service-token"  # noqa: S105
    rasa_url: str = "http://127.0.0.1:5005"
    # Rasa's --auth-token, which its REST channel also demands (nlu/serve.py, nlu/channels.py).
    rasa_token: str = "dev-rasa-token"  # noqa: S105
    rasa_timeout_seconds: float = 30.0
    # Turns in flight to Rasa at once, over connections kept open (bot/rasa_client.py).
    rasa_connections: Annotated[int, Field(ge=1, le=1000)] = 32
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
    # with several gateway replicas, give each its share. 28, not 30: messages paced at exactly
    # 30 a second arrive bunched by the network, 31 within some second.
    telegram_messages_per_second: float = 28.0
    # Shared state of several gateway replicas (seen updates, web chat push); memory when unset.
    redis_url: str | None = None
    # Messages the backend could not take are kept here and logged once it is back.
    spool_path: Path = ROOT / "var" / "gateway-spool.sqlite3"
    # A kept batch the backend answers with a 5xx this many times (tries spaced out, doubling)
    # is set aside beside the spool with its reason, so the batches after it flow.
    spool_max_failures: int = Field(default=8, ge=1)
    # The assistant's replies reach the transcript this long after the borrower has them, the
    # turns of every chat in that time in one backend call (bot/turn_log.py); 0: one call each.
    turn_log_seconds: float = Field(default=0.1, ge=0, le=5)
    outbound_poll_seconds: float = 1.0
    webchat_messages_per_minute: int = 30
    # Signs web chat session tokens (HMAC): every replica needs the same one, and changing it
    # ends every open web chat session.
    webchat_secret: str = "dev-webchat-secret"  # noqa: S105
    # A web chat unused this long needs a new session (its page starts one by itself).
    webchat_idle_days: float = Field(default=30.0, gt=0)
    # The session cookie is Secure (https only) when true; by default in production.
    webchat_secure_cookie: bool | None = None
    # Largest request body the gateway reads (413 above it): a 4,096-character message in
    # Chinese is about 12 KB.
    gateway_max_body_bytes: int = Field(default=16_384, ge=1024)
    # The gateway's public address (borrowers open GATEWAY_PUBLIC_URL/webchat; an SMS provider
    # calls back under it, and Twilio signs its calls for exactly this address).
    gateway_public_url: str = "http://127.0.0.1:8080"
    # SMS (bot/sms): sandbox (texts shown on /sandbox/sms, nothing sent), twilio, or off. Unset:
    # the sandbox, except in production, where it is off and the sandbox is refused.
    sms_provider: Literal["sandbox", "twilio", "off"] | None = None
    # Twilio: the account, its auth token (it also signs Twilio's callbacks), the sender (a
    # number of the account in E.164, or a Messaging Service id MG...), and for tests only
    # another API address.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_base_url: str | None = None
    # WhatsApp (bot/whatsapp): cloud (Meta's Cloud API), sandbox (messages shown on
    # /sandbox/whatsapp, nothing sent), or off. Unset: cloud when WHATSAPP_ACCESS_TOKEN is set,
    # else the sandbox, except in production, where it is off and the sandbox is refused.
    whatsapp_provider: Literal["cloud", "sandbox", "off"] | None = None
    # The Cloud API: the access token, the phone number's id (Meta's, not the number), the app
    # secret (Meta signs each webhook call with it), the verify token Meta echoes when the
    # webhook is registered, and the Graph API's address.
    whatsapp_access_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_api_base_url: str = "https://graph.facebook.com/v21.0"
    # Log lines: json (one object a line, with the request id) or text; unset: json in
    # production, text elsewhere (bot/logs.py).
    log_format: Literal["json", "text"] | None = None
    # Prometheus sends it as `Authorization: Bearer` to GET /metrics (bot/metrics.py); unset or
    # empty: no /metrics (404).
    metrics_token: Annotated[
        Annotated[str, Field(min_length=16)] | None, BeforeValidator(lambda v: v or None)
    ] = None

    @model_validator(mode="after")
    def _safe_for_its_environment(self) -> GatewaySettings:
        # Every problem at once, one line each (bot/__main__.py prints them).
        if (unknown := app_env_problem(self.app_env)) is not None:
            raise ValueError(unknown)
        production = self.app_env == "production"
        problems: list[str | None] = []
        webhook = bool(self.telegram_bot_token) and self.telegram_mode == "webhook"
        if webhook and not self.telegram_webhook_url:
            problems.append("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
        if webhook and len(self.telegram_webhook_secret or "") < MIN_SECRET_LENGTH:
            problems.append(
                "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET (16 characters or more: "
                "A-Z, a-z, 0-9, _ and -)"
            )
        elif production and self.telegram_webhook_secret:
            problems.append(secret_problem("TELEGRAM_WEBHOOK_SECRET", self.telegram_webhook_secret))
        problems += self._channel_problems(production)
        if production:
            problems += [
                secret_problem("SERVICE_TOKEN", self.service_token),
                secret_problem("RASA_TOKEN", self.rasa_token),
                # Anyone who knows it can sign into any web chat.
                secret_problem(
                    "WEBCHAT_SECRET", self.webchat_secret, min_length=MIN_WEBCHAT_SECRET_LENGTH
                ),
            ]
            if (password := url_password(self.redis_url)) is not None:
                problems.append(secret_problem("the password in REDIS_URL", password))
            if self.metrics_token:
                problems.append(secret_problem("METRICS_TOKEN", self.metrics_token))
        if found := [p for p in problems if p]:
            raise ValueError("\n".join(found))
        return self

    def _channel_problems(self, production: bool) -> list[str | None]:
        """WhatsApp's and SMS's providers: the default for the environment, and what each
        needs."""
        problems: list[str | None] = []
        if self.whatsapp_provider is None:
            fallback: Literal["sandbox", "off"] = "off" if production else "sandbox"
            self.whatsapp_provider = "cloud" if self.whatsapp_access_token else fallback
        if production and self.whatsapp_provider == "sandbox":
            problems.append("WHATSAPP_PROVIDER=sandbox is for development: use cloud or off")
        if self.whatsapp_provider == "cloud":
            problems += _whatsapp_problems(self, production)
        elif self.whatsapp_provider == "sandbox" and not self.whatsapp_app_secret:
            self.whatsapp_app_secret = SANDBOX_WHATSAPP_SECRET
        if self.sms_provider is None:
            self.sms_provider = "off" if production else "sandbox"
        if production and self.sms_provider == "sandbox":
            problems.append("SMS_PROVIDER=sandbox is for development: use twilio or off")
        if self.sms_provider == "twilio":
            problems += _twilio_problems(self, production)
        return problems

    @property
    def logs_as_json(self) -> bool:
        return self.log_format == "json" if self.log_format else self.app_env == "production"

    @property
    def webchat_cookie_is_secure(self) -> bool:
        if self.webchat_secure_cookie is not None:
            return self.webchat_secure_cookie
        return self.app_env == "production"


def _whatsapp_problems(settings: GatewaySettings, production: bool) -> list[str | None]:
    missing = [
        name
        for name, value in (
            ("WHATSAPP_ACCESS_TOKEN", settings.whatsapp_access_token),
            ("WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id),
            ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
            ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
        )
        if not value
    ]
    problems: list[str | None] = (
        [f"WHATSAPP_PROVIDER=cloud needs {', '.join(missing)}"] if missing else []
    )
    if production:
        for name, value in (
            ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
            ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
        ):
            if value:
                problems.append(secret_problem(name, value))
    return problems


def _twilio_problems(settings: GatewaySettings, production: bool) -> list[str | None]:
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TWILIO_FROM", settings.twilio_from),
        )
        if not value
    ]
    problems: list[str | None] = (
        [f"SMS_PROVIDER=twilio needs {', '.join(missing)}"] if missing else []
    )
    if production:
        if settings.twilio_auth_token:
            problems.append(secret_problem("TWILIO_AUTH_TOKEN", settings.twilio_auth_token))
        if not settings.gateway_public_url.startswith("https://"):
            problems.append(
                "SMS_PROVIDER=twilio needs GATEWAY_PUBLIC_URL at https:// (Twilio calls back there)"
            )
    return problems


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
