"""`make test`: run its phases one after another, stop at the first that fails, and end with a
table of the phases and their times (so a slow phase is seen at once, and CI logs show where
the minutes go). Standard library only: it runs before the virtualenvs exist.

Usage: python3 scripts/test_phases.py PHASE... (each a make target)
"""

from __future__ import annotations

import subprocess
import sys
import time


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def main(phases: list[str]) -> int:
    done: list[tuple[str, float, str]] = []
    began = time.monotonic()
    code = 0
    for phase in phases:
        print(f"\n=== make test: {phase} ===", flush=True)
        started = time.monotonic()
        command = ["make", "--no-print-directory", phase]
        code = subprocess.run(command, check=False).returncode  # noqa: S603  (our own make)
        done.append((phase, time.monotonic() - started, "ok" if code == 0 else f"FAILED ({code})"))
        if code != 0:
            break
    skipped = phases[len(done) :]
    width = max(len(p) for p in phases)
    print(f"\n{'phase':<{width}}  {'time':>8}  result")
    for phase, seconds, result in done:
        print(f"{phase:<{width}}  {minutes(seconds):>8}  {result}")
    for phase in skipped:
        print(f"{phase:<{width}}  {'':>8}  not run")
    print(f"{'total':<{width}}  {minutes(time.monotonic() - began):>8}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
