"""The fault matrix (bench/fault_matrix.py) on the session's topology, every case with shorter
faults: borrowers on the web chat and on Telegram keep talking through each, and none of their
messages is lost, and none is answered with something that looks like a stack trace."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bench import fault_matrix
from bench.topology import Topology


def test_no_borrower_message_is_lost_and_no_trace_is_shown_in_any_fault(
    topology: Topology, generated: list[str]
) -> None:
    # Rasa last: its replica takes a minute or more to load its model again, and no case
    # comes after it to wait for that.
    order = (
        "gateway",
        "backend",
        "postgres",
        "redis",
        "actions",
        "actions-killed",
        "telegram",
        "rasa",
    )
    cases = [next(c for c in fault_matrix.CASES if c.name == name) for name in order]
    assert {c.name for c in cases} == {c.name for c in fault_matrix.CASES}
    shape = fault_matrix.LoadShape(web=5, telegram=2, verified=generated[-2:])
    # In a thread of its own: the session's Chromium (Playwright's sync API) keeps an event
    # loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        outcomes = thread.submit(
            lambda: asyncio.run(
                fault_matrix.run_matrix(topology, cases, timing=fault_matrix.SHORT, shape=shape)
            )
        ).result()
    table = fault_matrix.report(outcomes)
    print(table)
    for o in outcomes:
        assert o.load.sent, f"{o.case.name}: no message sent\n{table}"
        assert not o.lost, f"{o.case.name}: {len(o.lost)} lost\n{table}"
        assert not o.load.traces, f"{o.case.name}: traces shown\n{table}"
        assert not o.load.duplicated_logs, f"{o.case.name}: logged twice\n{table}"
