"""Settings from the environment (and `.env`), one class, read once at start-up."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.config_rules import app_env_problem, secret_problem, url_password
from backend.payments.hosted import checkout_url_problem

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: str = "development"  # exactly development, test or production (config_rules.py)
    # Shown in the console (e.g. the release tag or commit the deployment was built from).
    app_version: str = "development"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'backend.db'}"
    backend_host: str = "127.0.0.1"
    backend_port: int = 8000
    # Public address of the backend, used in payment links sent to borrowers.
    public_base_url: str = "http://127.0.0.1:8000"
    # Bearer token other services (actions, gateway) present on /api/v1.
    service_token: str = "dev-service-token"  # noqa: S105
    # Key of the HMAC that stores ID numbers as a lookup hash; never the number itself.
    id_hash_key: str = "dev-id-hash-key"
    # The sandbox payment provider (checkout pages on this backend, no real money): on by
    # default except in production, which refuses it. Its webhooks are signed with the secret,
    # which is needed only while the sandbox is on.
    sandbox_payments: bool | None = None
    sandbox_webhook_secret: str = "dev-sandbox-webhook-secret"  # noqa: S105
    # The hosted checkout (backend/payments/hosted.py), production's provider: the lender's
    # checkout page for a link (`{token}` is replaced by the link's token; https in production)
    # and the secret its payment service signs webhooks with. Both or neither; when set, new
    # links use it. Without it (and without the sandbox) payment links are unavailable.
    payment_checkout_url: str = ""
    payment_webhook_secret: str = ""
    payment_link_ttl_hours: int = 24
    # The lender's business day: dates default to "today" here, or to BUSINESS_DATE when set.
    business_timezone: str = "Asia/Shanghai"
    business_date: date | None = None
    # Operations' policy files (plans.yml, promises.yml, ...), validated at start-up.
    config_dir: Path = ROOT / "config"
    # The assistant's NLU project: labelled messages are written into its training data.
    nlu_dir: Path = ROOT / "nlu"
    # Retraining: the Rasa server that trains and scores models (in production one that serves
    # no borrowers), where the backend keeps the models it serves to Rasa, the model `make
    # train` built (default: the newest under NLU_DIR/models), and the backend's address as
    # Rasa reaches it to fetch them (default: BACKEND_HOST and BACKEND_PORT).
    rasa_url: str = "http://127.0.0.1:5005"
    # Rasa's --auth-token (its HTTP API refuses calls without it: nlu/serve.py).
    rasa_token: str = "dev-rasa-token"  # noqa: S105
    nlu_models_dir: Path = ROOT / "var" / "models"
    nlu_base_model: Path | None = None
    model_server_url: str | None = None
    # Right-party verification: failed attempts before a lock, how long it lasts, link tokens' life.
    verify_max_attempts: int = 3
    # The country a phone number typed without its country code is read in (ISO 3166 code:
    # CN reads 13800138001 as +86..., SG reads 91234567 as +65...). One with "+" is read as it is.
    phone_region: str = "CN"
    verify_lock_minutes: int = 30
    link_token_ttl_hours: int = 72
    # Reminders by SMS (outreach.yml `channels`: its sms rule), delivered by a gateway with an
    # SMS provider: on by default except in production, where it needs the gateway's provider
    # and an https WEBCHAT_PUBLIC_URL. Each text links to the web chat's public address (the
    # gateway's /webchat) with a one-time link token: the borrower lands in a linked chat.
    sms_reminders: bool | None = None
    # Reminders by WhatsApp (the whatsapp rule; templates in config/whatsapp.yml), delivered by
    # a gateway with WhatsApp: on by default except in production.
    whatsapp_reminders: bool | None = None
    webchat_public_url: str = "http://127.0.0.1:8080/webchat"
    # Failed phone verifications counted across every chat and channel: per phone number and
    # per borrower (the same figures, so an unknown number is refused like a known one), then
    # locked for VERIFY_BORROWER_LOCK_HOURS or until staff clear it; and for everyone
    # together, a rate a real borrower population never reaches but a sweep does.
    verify_borrower_max_failures: int = Field(default=5, gt=0)
    verify_borrower_window_hours: int = Field(default=24, gt=0)
    verify_borrower_lock_hours: int = Field(default=24, gt=0)
    verify_global_max_failures: int = Field(default=200, gt=0)
    verify_global_window_minutes: int = Field(default=60, gt=0)
    # The collector console: sessions end after this long unused, or this long after log-in.
    console_idle_minutes: int = 60
    console_session_hours: int = 12
    # Wrong passwords in a row before an account locks for the address they came from, and for
    # how long; log-in attempts one client address may make in 10 minutes (successes not counted).
    console_max_failed_logins: int = 5
    console_lock_minutes: int = 15
    console_logins_per_address: int = 20
    # Session cookies only over HTTPS; by default on when PUBLIC_BASE_URL is https.
    console_secure_cookies: bool | None = None
    # A handoff waiting longer than this is highlighted in the inbox (the handoff SLA).
    handoff_sla_minutes: int = 5
    # The largest request body the backend reads (API and console), in bytes: larger is 413.
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)
    # The outreach worker: when it plans the day's reminders (business time zone), and how
    # often it sends those that are due.
    outreach_plan_at: time = time(0, 5)
    outreach_dispatch_seconds: int = 60
    # When the worker takes the portfolio snapshot of the business day just closed.
    snapshot_at: time = time(0, 30)
    # Daily snapshots are kept this many days; every month's last day is kept for good.
    snapshot_daily_days: int = Field(default=92, ge=1)
    # The worker trains the risk scores again once a month's outcome is known (a version goes
    # into use only if it beats both baselines); false: only `python -m backend risk train`.
    risk_retrain: bool = True
    # How often each backend replica and the worker check which policy versions operations
    # approved in the console (backend/policy_versions/running.py).
    policy_refresh_seconds: float = Field(default=2.0, gt=0)
    # Log lines: json (one object a line, with the request id) or text; unset: json in
    # production, text elsewhere (backend/monitoring/logs.py).
    log_format: Literal["json", "text"] | None = None
    # Prometheus sends it as `Authorization: Bearer` to GET /metrics
    # (backend/monitoring/routes.py); unset or empty: no /metrics (404).
    metrics_token: Annotated[
        Annotated[str, Field(min_length=16)] | None, BeforeValidator(lambda v: v or None)
    ] = None

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}: an ISO 3166 code such as CN or SG")
        return region

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _safe_for_its_environment(self) -> Settings:
        # Every problem at once, one line each (backend/startup.py prints them).
        if (unknown := app_env_problem(self.app_env)) is not None:
            raise ValueError(unknown)
        production = self.app_env == "production"
        if self.sandbox_payments is None:
            self.sandbox_payments = not production
        problems = []
        if self.sandbox_payments and production:
            problems.append(
                "production refuses sandbox payments (no real money moves): set "
                "SANDBOX_PAYMENTS=false"
            )
        if self.sandbox_payments and not self.sandbox_webhook_secret:
            problems.append("SANDBOX_PAYMENTS=true needs SANDBOX_WEBHOOK_SECRET")
        problems += self._hosted_checkout_problems(production)
        if self.sms_reminders is None:
            self.sms_reminders = not production
        if self.whatsapp_reminders is None:
            self.whatsapp_reminders = not production
        if self.sms_reminders and production and not self.webchat_public_url.startswith("https://"):
            problems.append(
                "SMS_REMINDERS=true needs WEBCHAT_PUBLIC_URL at https:// (each text links there)"
            )
        if production:
            problems += [p for name, value in self._secrets() if (p := secret_problem(name, value))]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _hosted_checkout_problems(self, production: bool) -> list[str]:
        url, secret = self.payment_checkout_url, self.payment_webhook_secret
        if bool(url) != bool(secret):
            return [
                "PAYMENT_CHECKOUT_URL and PAYMENT_WEBHOOK_SECRET go together: set both for the "
                "hosted checkout, or neither"
            ]
        problem = checkout_url_problem(url, production=production) if url else None
        return [problem] if problem else []

    @property
    def hosted_payments(self) -> bool:
        """The hosted checkout is configured (and, being valid, new links use it)."""
        return bool(self.payment_checkout_url and self.payment_webhook_secret)

    def _secrets(self) -> list[tuple[str, str]]:
        """The secrets this deployment uses: the sandbox's only while the sandbox is on (so
        docker-compose.yml may leave SANDBOX_WEBHOOK_SECRET empty), the hosted checkout's when
        set, the database's password when its URL has one, the metrics token when set."""
        used = [
            ("SERVICE_TOKEN", self.service_token),
            ("ID_HASH_KEY", self.id_hash_key),
            ("RASA_TOKEN", self.rasa_token),
        ]
        if self.sandbox_payments and self.sandbox_webhook_secret:
            used.append(("SANDBOX_WEBHOOK_SECRET", self.sandbox_webhook_secret))
        if self.payment_webhook_secret:  # whenever set, even without its URL
            used.append(("PAYMENT_WEBHOOK_SECRET", self.payment_webhook_secret))
        if (password := url_password(self.database_url)) is not None:
            used.append(("the password in DATABASE_URL", password))
        if self.metrics_token:
            used.append(("METRICS_TOKEN", self.metrics_token))
        return used

    @property
    def secure_cookies(self) -> bool:
        if self.console_secure_cookies is not None:
            return self.console_secure_cookies
        return self.public_base_url.startswith("https://")

    def today(self) -> date:
        """The current business date."""
        if self.business_date is not None:
            return self.business_date
        return datetime.now(ZoneInfo(self.business_timezone)).date()


@lru_cache
def get_settings() -> Settings:
    return Settings()
