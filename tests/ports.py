"""Ports for the processes the tests start.

make test runs suites side by side (tests/e2e beside tests/actions and tests/rasa), and a port
is chosen seconds or minutes before the process that was started on it binds it. The kernel's
own choice (bind to port 0) comes from the ephemeral range, which every suite and every outgoing
connection draw from, so two suites could be handed the same port in that gap: the gateway of
the end-to-end stack once found a backend of the action tests on its port. So ports are drawn
below the ephemeral range (32768 and up by default), each suite from its own band, and never
twice in one process.
"""

from __future__ import annotations

import random
import socket

BANDS = {
    "e2e": (20000, 23999),
    "actions": (24000, 26999),
    "rasa": (27000, 28499),
    "python": (28500, 32000),  # test-python, which runs alone with the training
}
_given: set[int] = set()
_draw = random.SystemRandom()


def free_port(suite: str = "python") -> int:
    """A port nobody listens on now, from the suite's band."""
    low, high = BANDS[suite]
    for _ in range(500):
        port = _draw.randint(low, high)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port between {low} and {high}")
