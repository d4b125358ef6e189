"""Ports for the processes the tests start.

make test runs suites side by side (tests/e2e beside tests/actions and tests/rasa), and a port
is chosen seconds or minutes before the process that was started on it binds it. The kernel's
own choice (bind to port 0) comes from the ephemeral range, which every suite and every outgoing
connection draw from, so two suites could be handed the same port in that gap: the gateway of
the end-to-end stack once found a backend of the action tests on its port. So ports are drawn
below the ephemeral range (32768 and up by default), each suite from its own band, and never
twice in one process.

A suite's pytest-xdist workers are processes too, each remembering only its own draws, so each
worker draws from its own slice of the band. Sharing it, a port that one worker's process binds
only some time after the draw (the end-to-end stack's action server restarted on its port;
`make run`'s ports in test_make_run.py) could be handed to the other worker meanwhile, and the
stack would then talk to the other worker's process.
"""

from __future__ import annotations

import os
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


def worker_slice(low: int, high: int, worker: str = "", workers: int = 1) -> tuple[int, int]:
    """The part of the band [low, high] that pytest-xdist's worker `worker` ("gw0", "gw1", ...;
    "" outside xdist) of `workers` draws from."""
    if not worker.startswith("gw") or workers <= 1:
        return low, high
    index = int(worker[2:]) % workers
    size = (high - low + 1) // workers
    return low + index * size, low + (index + 1) * size - 1


def free_port(suite: str = "python") -> int:
    """A port nobody listens on now, from the suite's band (this worker's slice of it)."""
    low, high = worker_slice(
        *BANDS[suite],
        worker=os.environ.get("PYTEST_XDIST_WORKER", ""),
        workers=int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
    )
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
