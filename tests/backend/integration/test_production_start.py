"""The production configuration docker-compose.yml gives the backend starts: `migrate`, the app
and `create-user` run with APP_ENV=production, real secrets, SANDBOX_PAYMENTS=false and the
empty SANDBOX_WEBHOOK_SECRET compose passes when the sandbox is off."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from backend.config import ROOT, Settings
from backend.main import create_app

SECRETS = {name: secrets.token_hex(32) for name in ("SERVICE_TOKEN", "ID_HASH_KEY", "RASA_TOKEN")}


def production_env(database_url: str) -> dict[str, str]:
    """What compose's x-backend-env sets, and nothing of this machine's own settings."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        **SECRETS,
        "SANDBOX_PAYMENTS": "false",
        "SANDBOX_WEBHOOK_SECRET": "",
        "PUBLIC_BASE_URL": "https://lender.example.com",
        "BUSINESS_TIMEZONE": "Asia/Shanghai",
    }


def backend(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        env=env,
        cwd=cwd,  # not the checkout: no .env of a developer's is read
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_migrate_and_create_user_run_with_the_sandbox_off(tmp_path: Path) -> None:
    env = production_env(f"sqlite:///{tmp_path / 'production.db'}")
    assert "database is at the latest migration" in backend(["migrate"], env, tmp_path)
    created = backend(
        ["create-user", "admin", "--role", "admin", "--password-stdin"],
        env,
        tmp_path,
        stdin="a-long-enough-password\n",
    )
    assert "user admin (admin) created" in created


def test_the_app_starts_without_the_sandbox(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'production.db'}"
    backend(["migrate"], production_env(url), tmp_path)
    settings = Settings(
        app_env="production",
        database_url=url,
        service_token=SECRETS["SERVICE_TOKEN"],
        id_hash_key=SECRETS["ID_HASH_KEY"],
        rasa_token=SECRETS["RASA_TOKEN"],
        sandbox_payments=False,
        sandbox_webhook_secret="",
        public_base_url="https://lender.example.com",
    )
    app = create_app(settings)
    assert app.state.payment_providers == {}  # no sandbox checkout in production
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
