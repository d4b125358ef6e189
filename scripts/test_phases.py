"""`make test`: run its phases, stop after the first stage in which one fails, and end with a
table of the phases and their times (so a slow phase is seen at once, and CI logs show where
the minutes go). Standard library only: it runs before the virtualenvs exist.

Usage: python3 scripts/test_phases.py STAGE...
A stage is one make target, or several joined with `+` that run at the same time (on two cores,
a training that keeps both busy overlaps well with tests that wait on databases and processes).
The output of a stage of several is kept in var/test-logs/ and printed, phase by phase, when the
stage ends.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

LOGS = Path("var/test-logs")


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def run_stage(phases: list[str]) -> list[tuple[str, float, int]]:
    """Each phase's (name, seconds, exit code)."""
    began = time.monotonic()
    if len(phases) == 1:
        print(f"\n=== make test: {phases[0]} ===", flush=True)
        command = ["make", "--no-print-directory", phases[0]]
        code = subprocess.run(command, check=False).returncode  # noqa: S603  (our own make)
        return [(phases[0], time.monotonic() - began, code)]
    print(f"\n=== make test: {' + '.join(phases)} (at the same time) ===", flush=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    running = {}
    for phase in phases:
        log = (LOGS / f"{phase}.log").open("w")
        command = ["make", "--no-print-directory", phase]
        running[phase] = (
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT),  # noqa: S603
            log,
        )
    finished: dict[str, tuple[float, int]] = {}
    while len(finished) < len(phases):
        for phase, (proc, log) in running.items():
            if phase not in finished and proc.poll() is not None:
                log.close()
                finished[phase] = (time.monotonic() - began, proc.returncode)
                result = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
                print(f"--- {phase}: {result} in {minutes(finished[phase][0])}", flush=True)
        time.sleep(0.5)
    # A failed phase's output last: a CI log that keeps only its tail still shows the failure.
    for phase in sorted(phases, key=lambda name: finished[name][1] != 0):
        print(f"\n=== output of {phase} ===", flush=True)
        sys.stdout.write((LOGS / f"{phase}.log").read_text(errors="replace"))
        sys.stdout.flush()
    return [(phase, *finished[phase]) for phase in phases]


def main(stages: list[str]) -> int:
    done: list[tuple[str, float, int]] = []
    began = time.monotonic()
    for stage in stages:
        done += run_stage(stage.split("+"))
        if any(code != 0 for _, _, code in done):
            break
    ran = {phase for phase, _, _ in done}
    skipped = [p for stage in stages for p in stage.split("+") if p not in ran]
    width = max(len(p) for stage in stages for p in stage.split("+"))
    parallel = {p for stage in stages if "+" in stage for p in stage.split("+")}
    print(f"\n{'phase':<{width}}  {'time':>8}  result")
    for phase, seconds, code in done:
        result = "ok" if code == 0 else f"FAILED ({code})"
        note = "  (alongside others)" if phase in parallel else ""
        print(f"{phase:<{width}}  {minutes(seconds):>8}  {result}{note}")
    for phase in skipped:
        print(f"{phase:<{width}}  {'':>8}  not run")
    print(f"{'total':<{width}}  {minutes(time.monotonic() - began):>8}", flush=True)
    return next((code for _, _, code in done if code != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
