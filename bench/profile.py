"""Where one part's time goes while borrowers chat: py-spy samples a running process of `make run`
(Rasa, the gateway, the backend or the action server, found by the port it listens on) while
`bench.chat_load` drives borrowers through it, then writes the samples and a summary.

    .venv/bin/python -m bench.profile rasa [--seconds 20] [--borrowers 10]

Writes var/profile/<part>.txt (the functions that took the most of the part's busy time, with
and without what they call) and prints it, and var/profile/<part>.folded, every sampled stack
in the collapsed format flame graph tools read (drop it on speedscope.app, or give it to
flamegraph.pl). Sampling needs ptrace: root, or kernel.yama.ptrace_scope=0 (in a container,
the SYS_PTRACE capability). It is not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "profile"
PY_SPY = Path(sys.executable).parent / "py-spy"
# The ports `make run` serves on (the Procfile's variables and defaults).
PORTS = {
    "rasa": ("RASA_PORT", 5005),
    "gateway": ("GATEWAY_PORT", 8080),
    "backend": ("BACKEND_PORT", 8000),
    "actions": ("ACTION_SERVER_PORT", 5055),
}
RATE = 100  # samples a second


def listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on `port` (IPv4 and IPv6), from /proc/net."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def pid_on(port: int) -> int | None:
    """The process listening on `port`, if this user can see it."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not wanted:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        if _links(proc / "fd") & wanted:
            return int(proc.name)
    return None


def _links(fds: Path) -> set[str]:
    """What a process's file descriptors point to (those still open as they are read)."""
    links: set[str] = set()
    try:
        for fd in list(fds.iterdir()):
            try:
                links.add(os.readlink(fd))
            except OSError:
                continue
    except OSError:  # gone, or not ours to read
        pass
    return links


def summary(collapsed: str, top: int = 25) -> list[str]:
    """The functions that took the most samples, with what they call (inclusive) and alone
    (self), from py-spy's collapsed stacks ("frame;frame;... count" per line)."""
    inclusive: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_function(frame) for frame in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        alone[frames[-1]] += n
    if not total:
        return ["no samples: was the part busy?"]
    lines = [f"{total} samples ({total / RATE:.1f} s busy)", "", "with what they call:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "alone:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in alone.most_common(top)]
    return lines


def _function(frame: str) -> str:
    """ "validate (jsonschema/validators.py:1080)" -> "validate (jsonschema/validators.py)"."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(path.split('/')[-2:])})" if path else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=sorted(PORTS))
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--borrowers", type=int, default=10, help="chatting while sampled")
    args = parser.parse_args(argv)

    variable, default = PORTS[args.part]
    port = int(os.environ.get(variable, default))
    pid = pid_on(port)
    if pid is None:
        print(f"nothing listens on port {port} ({args.part}): start `make run` first")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    folded = OUT / f"{args.part}.folded"
    # One sampler (a process takes one tracer), pausing the process for each sample: only then
    # does py-spy tell a waiting thread from a working one, and leave the waiting ones out.
    sampler = subprocess.Popen(
        [str(PY_SPY), "record", "-p", str(pid), "-d", str(args.seconds), "-r", str(RATE),
         "-f", "raw", "-o", str(folded)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1)  # attached before the borrowers start
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.chat_load", "--borrowers", str(args.borrowers)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    _, err = sampler.communicate()
    load.kill()
    if sampler.returncode != 0 or not folded.exists():
        print(f"py-spy failed: {err.strip().splitlines()[-1] if err.strip() else '?'}")
        return 1
    lines = [f"{args.part} (pid {pid}), {args.seconds} s while borrowers chat", "",
             *summary(folded.read_text())]  # fmt: skip
    (OUT / f"{args.part}.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nsaved: var/profile/{args.part}.txt, var/profile/{args.part}.folded (every stack)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
