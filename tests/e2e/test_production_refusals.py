"""Production start-up refuses unsafe configuration as the processes really start: the backend
(`python -m backend serve`) and the gateway (`python -m bot serve`) exit with status 1 and one
line on stderr per problem, no traceback. The rules themselves are unit-tested
(tests/backend/unit/test_config*.py, tests/bot/unit/test_production_settings.py, the app
factory uvicorn calls in tests/backend/unit/test_config.py); this checks the wiring, with the
two processes started side by side to stay fast."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATE = "set a random one, e.g. from `openssl rand -hex 32`"


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return subprocess.Popen(
        args,
        cwd=cwd,  # not the checkout: no developer's .env is read
        env={**keep, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_each_process_says_every_problem_in_one_line_and_stops(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'never-created.db'}"
    backend = start(
        [sys.executable, "-m", "backend", "serve", "--port", "1"],
        {
            "APP_ENV": "production",
            "DATABASE_URL": database,
            "SERVICE_TOKEN": "dev-service-token",
            "ID_HASH_KEY": "aaaaaaaaaaaaaaaaaaaa",
            "RASA_TOKEN": "short",
            "SANDBOX_PAYMENTS": "true",
            "SANDBOX_WEBHOOK_SECRET": secrets.token_hex(32),
        },
        tmp_path,
    )
    gateway = start(
        [sys.executable, "-m", "bot", "serve"],
        {
            "APP_ENV": "production",
            "SERVICE_TOKEN": secrets.token_hex(32),
            "RASA_TOKEN": "1234567890123456",
            "WEBCHAT_SECRET": "passwordpassword-passwordpassword",
            "GATEWAY_PORT": "1",
        },
        tmp_path,
    )
    expected = {
        backend: [
            "production refuses sandbox payments (no real money moves): set SANDBOX_PAYMENTS=false",
            f"production refuses SERVICE_TOKEN: it is a development default (dev-...); {GENERATE}",
            "production refuses ID_HASH_KEY: it is easy to guess (repeated characters, sequences "
            f"or common words); {GENERATE}",
            f"production refuses RASA_TOKEN: it is shorter than 16 characters; {GENERATE}",
        ],
        gateway: [
            "production refuses RASA_TOKEN: it is easy to guess (repeated characters, sequences "
            f"or common words); {GENERATE}",
            "production refuses WEBCHAT_SECRET: it is easy to guess (repeated characters, "
            f"sequences or common words); {GENERATE}",
        ],
    }
    for proc, lines in expected.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, (proc.args, err)
        assert "Traceback" not in err
        assert err.splitlines() == lines, proc.args
        assert out == ""
    assert not (tmp_path / "never-created.db").exists()  # refused before the database
