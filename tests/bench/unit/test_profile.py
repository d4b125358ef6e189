"""bench/profile.py: the summary of py-spy's collapsed stacks, and finding a part by its port."""

from __future__ import annotations

import os
import socket

from bench.profile import pid_on, summary

COLLAPSED = """\
main (serve.py:10);turn (channels.py:5);validate (jsonschema/validators.py:1080) 6
main (serve.py:10);turn (channels.py:5);parse (rasa/processor.py:700) 3
main (serve.py:10);idle (asyncio/base_events.py:1) 1
"""


def test_the_summary_gives_each_functions_share_with_and_without_what_it_calls() -> None:
    lines = summary(COLLAPSED, top=3)
    assert lines[0] == "10 samples (0.1 s busy)"
    calls = lines[lines.index("with what they call:") + 1 : lines.index("alone:") - 1]
    assert calls[0].split() == ["100.0%", "main", "(serve.py)"]
    assert calls[1].split() == ["90.0%", "turn", "(channels.py)"]
    alone = lines[lines.index("alone:") + 1 :]
    assert alone[0].split() == ["60.0%", "validate", "(jsonschema/validators.py)"]
    assert alone[1].split() == ["30.0%", "parse", "(rasa/processor.py)"]


def test_no_samples_is_said_plainly() -> None:
    assert summary("") == ["no samples: was the part busy?"]


def test_the_process_listening_on_a_port_is_found() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert pid_on(port) == os.getpid()
    assert pid_on(port) is None
