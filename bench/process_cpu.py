"""CPU time of the running stack's processes, by part, read from /proc: each service found by
the port it listens on (with its child processes), PostgreSQL's processes by name (a local
server's: its per-connection processes come and go, so they are found again at each reading),
this benchmark's own process, and the whole machine. A part this user cannot see (another
user's process, a remote database) is simply absent.

Also how long the main thread of a part named in `waits` (Rasa's event loop, the stack's
bottleneck) was ready to run but had no free core, from /proc/<pid>/schedstat: the share of a
slower path's throughput that other processes took from it on a shared machine, as opposed to
work it did itself.

Linux only; the benchmarks that use it print "-" where /proc has nothing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.profile import pid_on

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CLIENT, MACHINE, POSTGRES = "client", "machine", "postgres"
RAN = "-loop"  # "rasa-loop": Rasa's main thread, its event loop, on a core
WAITED = "-wait"  # "rasa-wait": Rasa's main thread ready to run, with no core free


@dataclass(frozen=True, slots=True)
class Proc:
    ppid: int
    name: str  # the command's name, as /proc/<pid>/stat gives it
    cpu: float  # user + system seconds


def parse_stat(text: str) -> Proc:
    """One /proc/<pid>/stat line: the name sits in parentheses and may hold spaces."""
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    return Proc(
        ppid=int(fields[1]),
        name=head.partition("(")[2],
        cpu=(int(fields[11]) + int(fields[12])) / TICKS,
    )


def processes(root: Path = Path("/proc")) -> dict[int, Proc]:
    """Every process this user can read, by pid."""
    table: dict[int, Proc] = {}
    for entry in root.glob("[0-9]*/stat"):
        try:
            table[int(entry.parent.name)] = parse_stat(entry.read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone since the listing
    return table


def with_descendants(pid: int, table: Mapping[int, Proc]) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, proc in table.items():
        children.setdefault(proc.ppid, []).append(child)
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current in found or current not in table:
            continue
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def tree_seconds(pid: int, table: Mapping[int, Proc]) -> float:
    """CPU seconds of a process and its children."""
    return sum(table[p].cpu for p in with_descendants(pid, table))


def postgres_seconds(table: Mapping[int, Proc]) -> float | None:
    """CPU seconds of this machine's PostgreSQL processes (None: none to be seen here)."""
    found = [proc.cpu for proc in table.values() if proc.name in ("postgres", "postmaster")]
    return sum(found) if found else None


def by_part(roots: Mapping[str, int], table: Mapping[int, Proc]) -> dict[str, float]:
    """CPU seconds of each part's process tree, and of PostgreSQL's processes."""
    cpu = {part: tree_seconds(pid, table) for part, pid in roots.items() if pid in table}
    postgres = postgres_seconds(table)
    if postgres is not None:
        cpu[POSTGRES] = postgres
    return cpu


def machine_busy_seconds(stat: Path = Path("/proc/stat")) -> float | None:
    """CPU seconds the machine spent on anything but idling and waiting for disks, all cores."""
    try:
        values = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    return (sum(values) - values[3] - values[4]) / TICKS  # less idle and iowait


def queued_seconds(pid: int, root: Path = Path("/proc")) -> float | None:
    """Seconds a process's main thread has spent ready to run but waiting for a core (None:
    not to be seen here, or a kernel without scheduler statistics)."""
    return _schedstat(pid, 1, root)


def ran_seconds(pid: int, root: Path = Path("/proc")) -> float | None:
    """Seconds a process's main thread has run on a core (its other threads not counted)."""
    return _schedstat(pid, 0, root)


def _schedstat(pid: int, field: int, root: Path) -> float | None:
    try:
        return int((root / str(pid) / "schedstat").read_text().split()[field]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


class Meter:
    """Readings of CPU seconds by part; the difference of two is what a stretch of load cost."""

    def __init__(self, ports: Mapping[str, int], waits: tuple[str, ...] = ()) -> None:
        # Found once: a service that restarts in the middle of a run is not followed.
        self.roots = {part: pid for part, port in ports.items() if (pid := pid_on(port))}
        self.waits = waits

    def read(self) -> dict[str, float]:
        reading = by_part(self.roots, processes())
        for part in self.waits:
            if part in self.roots and (queued := queued_seconds(self.roots[part])) is not None:
                reading[part + WAITED] = queued
            if part in self.roots and (ran := ran_seconds(self.roots[part])) is not None:
                reading[part + RAN] = ran
        times = os.times()
        reading[CLIENT] = times.user + times.system
        machine = machine_busy_seconds()
        if machine is not None:
            reading[MACHINE] = machine
        return reading


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds by part between two readings (a part in only one of them is left out)."""
    return {part: after[part] - before[part] for part in before if part in after}


def port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)
