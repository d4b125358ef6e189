"""The backend's side of Rasa's auth token: it sends it on every call to Rasa's HTTP API (the
`token` query parameter, the one form Rasa 3.6 takes), and production refuses a development,
short or guessable one."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from backend.config import Settings
from backend.tuning.rasa_client import RasaTrainer

REAL = {
    "service_token": secrets.token_hex(32),
    "id_hash_key": secrets.token_hex(32),
    "sandbox_payments": False,
}


def test_production_refuses_the_development_rasa_token() -> None:
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        Settings(app_env="production", **REAL)
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        Settings(app_env="production", rasa_token="short", **REAL)
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        Settings(app_env="production", rasa_token="r" * 32, **REAL)
    token = secrets.token_hex(32)
    assert Settings(app_env="production", rasa_token=token, **REAL).rasa_token == token


def test_development_has_the_procfiles_default() -> None:
    assert Settings().rasa_token == "dev-rasa-token"


class RecordingRasa(BaseHTTPRequestHandler):
    """Answers like Rasa with --auth-token: 401 without ?token=secret."""

    seen: ClassVar[list[tuple[str, str, dict[str, list[str]]]]] = []

    def _answer(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        RecordingRasa.seen.append((self.command, url.path, query))
        if self.command == "POST":
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if query.get("token") != ["secret"]:
            body, status, extra = b'{"message": "NotAuthenticated"}', 401, {}
        elif url.path == "/status":
            body, status, extra = b'{"model_file": "models/m.tar.gz"}', 200, {}
        else:
            body, status, extra = b"model-bytes", 200, {"filename": "m2.tar.gz"}
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rasa() -> Iterator[str]:
    RecordingRasa.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_every_call_to_rasa_carries_the_token(rasa: str) -> None:
    trainer = RasaTrainer(rasa, token="secret")
    assert trainer.running_model() == "m.tar.gz"
    assert trainer.train("version: '3.1'") == ("m2.tar.gz", b"model-bytes")
    assert [(m, p, q.get("token")) for m, p, q in RecordingRasa.seen] == [
        ("GET", "/status", ["secret"]),
        ("POST", "/model/train", ["secret"]),
    ]
    assert RecordingRasa.seen[1][2]["force_training"] == ["true"]  # its own parameters kept
