"""bench/process_cpu.py: CPU by part from /proc, and the chat benchmark's table of it."""

from __future__ import annotations

import socket
import time
from collections import Counter
from pathlib import Path

from bench.chat_load import format_cpu, summarise
from bench.process_cpu import (
    CLIENT,
    POSTGRES,
    TICKS,
    Meter,
    Proc,
    by_part,
    machine_busy_seconds,
    parse_stat,
    port_of,
    queued_seconds,
    ran_seconds,
    spent,
    with_descendants,
)


def stat_line(pid: int, name: str, ppid: int, utime: int, stime: int) -> str:
    fields = ["S", str(ppid)] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 30
    return f"{pid} ({name}) " + " ".join(fields)


def test_a_stat_line_with_spaces_and_parentheses_in_the_name_is_read() -> None:
    proc = parse_stat(stat_line(42, "python (rasa) x", 7, 3 * TICKS, TICKS))
    assert proc == Proc(ppid=7, name="python (rasa) x", cpu=4.0)


def test_a_part_is_its_process_with_every_descendant_and_postgres_is_counted_by_name() -> None:
    table = {
        10: Proc(1, "python", 1.0),
        11: Proc(10, "python", 0.5),  # a worker of 10
        12: Proc(11, "python", 0.25),  # and its own child
        20: Proc(1, "python", 2.0),  # another service
        30: Proc(1, "postgres", 0.1),
        31: Proc(30, "postgres", 0.2),  # a connection's process
    }
    assert with_descendants(10, table) == {10, 11, 12}
    assert by_part({"backend": 10, "gateway": 20, "gone": 99}, table) == {
        "backend": 1.75,
        "gateway": 2.0,
        POSTGRES: 0.1 + 0.2,
    }
    assert POSTGRES not in by_part({}, {1: Proc(0, "python", 1.0)})  # no local PostgreSQL


def test_the_machine_is_busy_for_all_but_idle_and_iowait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(f"cpu  {TICKS} 0 {TICKS} {10 * TICKS} {5 * TICKS} 0 0 0 0 0\ncpu0 1 2 3\n")
    assert machine_busy_seconds(stat) == 2.0
    assert machine_busy_seconds(tmp_path / "none") is None


def test_the_meter_finds_a_service_by_its_port_and_sees_its_cpu() -> None:
    with socket.socket() as listening:  # this process stands for a service
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        meter = Meter({"gateway": listening.getsockname()[1], "nobody": 1})
        before = meter.read()
        until = time.process_time() + 0.3
        while time.process_time() < until:
            pass
        used = spent(before, meter.read())
    assert set(meter.roots) == {"gateway"}
    assert used["gateway"] >= 0.2
    assert "gateway-wait" not in used  # not asked for
    assert used[CLIENT] >= 0.2
    assert port_of("http://127.0.0.1:5055/webhook") == 5055
    assert port_of("https://assistant.example") == 443


def test_the_chat_benchmark_prints_cpu_per_answered_message_by_process() -> None:
    errors: Counter[str] = Counter({"timeout": 1})
    result = summarise(1, "gateway", [30.0] * 4, errors, 1.0, {"gateway": 0.02, "rasa": 0.08})
    assert result.cpu_ms == {"gateway": 5.0, "rasa": 20.0}  # 4 answered, the error not
    lines = format_cpu([result, summarise(1, "rasa", [20.0], Counter(), 1.0, {})])
    assert lines[3].split()[:5] == ["concurrency", "path", "gateway", "rasa", "actions"]
    assert lines[3].split()[-1] == "rasa-wait"
    assert lines[4].split()[:5] == ["1", "gateway", "5.0", "20.0", "-"]
    assert lines[3].split()[-2] == "rasa-loop"
    assert lines[5].split()[2:] == ["-"] * 9
    assert format_cpu([summarise(1, "rasa", [20.0], Counter(), 1.0)]) == []


def test_the_wait_for_a_core_is_read_from_the_main_threads_scheduler_statistics(
    tmp_path: Path,
) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "schedstat").write_text("174249818288 21303542207 46095\n")
    assert queued_seconds(42, tmp_path) == 21.303542207
    assert ran_seconds(42, tmp_path) == 174.249818288  # on a core
    assert queued_seconds(43, tmp_path) is None  # gone, or no such statistics here


def test_the_meter_reads_the_wait_of_the_parts_asked_for() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        meter = Meter({"rasa": listening.getsockname()[1]}, waits=("rasa",))
        reading = meter.read()
    assert reading["rasa-wait"] >= 0  # this process stands for Rasa
    assert reading["rasa-loop"] > 0
