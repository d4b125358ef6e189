"""In front of the action server, on its port: the first call of one action is answered 502,
as nginx answers when the replica that had the call died; every other call is passed on."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_HOP = {"host", "content-length", "connection", "transfer-encoding"}


class FailingOnce:
    def __init__(self, port: int, behind: int, action: str) -> None:
        self.calls: list[str] = []  # the actions Rasa asked for, in order, the failed one too
        target, calls = f"http://127.0.0.1:{behind}", self.calls
        failed = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._pass_on(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = str(json.loads(body or b"{}").get("next_action"))
                calls.append(name)
                if name == action and not failed.is_set():
                    failed.set()
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._pass_on(body)

            def _pass_on(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                answer = httpx.request(
                    self.command, target + self.path, content=body, headers=headers, timeout=60
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
