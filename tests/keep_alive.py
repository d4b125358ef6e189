"""One check for every service nginx keeps connections to (deploy/nginx.conf keeps an idle one
60 s): a connection left idle past the servers' usual 5 s default is still served. Standard
library only: the action server's tests import it from Rasa's virtualenv."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

IDLE_SECONDS = 6.0  # past uvicorn's and Sanic's default keep-alive (5 s)


def served_after_idling(base_url: str, method: str, path: str) -> list[tuple[int, bool]]:
    """The status of `method path` and whether the server said it would close, asked twice
    on one connection, IDLE_SECONDS apart."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    answers: list[tuple[int, bool]] = []
    try:
        for pause in (0.0, IDLE_SECONDS):
            time.sleep(pause)
            connection.request(method, path)
            answer = connection.getresponse()
            answer.read()
            answers.append((answer.status, answer.will_close))
    finally:
        connection.close()
    return answers
