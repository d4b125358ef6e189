"""`make run`'s process manager (scripts/run_stack.py) on small Procfiles of its own: a failed
start names the process and its cause in the last line; after the stack is ready a crashed
process is started again while the others keep serving; Ctrl-C stops every process, children
included, within its deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scripts.run_stack import STOP_SECONDS, Process, Stack, health_checks, read_procfile, settings
from tests import ports

ROOT = Path(__file__).resolve().parents[1]
SERVE = f"{sys.executable} -m http.server --bind 127.0.0.1"


def free_port() -> int:
    return ports.free_port("python")


def launch(tmp_path: Path, procfile: str, **env: str) -> tuple[subprocess.Popen[str], Path]:
    (tmp_path / "Procfile").write_text(procfile)
    (tmp_path / "healthz").write_text("ok")  # what http.server answers for /healthz
    log = tmp_path / "out.log"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_stack.py"), "Procfile"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return proc, log


def wait_for(log: Path, text: str, proc: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text():
        assert proc.poll() is None or text in log.read_text(), log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def pids_of(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except (OSError, ValueError):
            continue
    return found


def test_reads_the_repositorys_procfile() -> None:
    processes = read_procfile(ROOT / "Procfile")
    assert set(processes) == {"backend", "actions", "rasa", "gateway", "outreach"}
    # every process that serves has a health check, so "ready" means all of them answer
    assert set(processes) - set(health_checks({})) == {"outreach"}


def test_one_port_variable_moves_a_process_and_the_others_find_it() -> None:
    at = settings({"BACKEND_PORT": "9100", "RASA_PORT": "9105"})
    assert at["backend"] == "http://127.0.0.1:9100"
    assert at["rasa"] == "http://127.0.0.1:9105"
    assert health_checks({"RASA_PORT": "9105", "RASA_TOKEN": "t"})["rasa"].endswith(
        "/status?token=t"
    )


def test_a_failed_start_names_the_process_and_its_cause_last(tmp_path: Path) -> None:
    port = free_port()
    procfile = (
        f"backend: {SERVE} {port}\n"
        "gateway: echo 'gateway: starting' && echo 'OSError: address already in use' && exit 3\n"
    )
    proc, log = launch(tmp_path, procfile, BACKEND_PORT=str(port), GATEWAY_PORT=str(free_port()))
    assert proc.wait(timeout=30) == 1
    last = log.read_text().strip().splitlines()[-1]
    assert last == (
        "make run stopped: gateway failed to start (exit code 3): OSError: address already in use"
    )
    assert not pids_of(f"http.server --bind 127.0.0.1 {port}")


def test_after_start_a_crashed_process_comes_back_and_the_rest_keeps_serving(
    tmp_path: Path,
) -> None:
    ports = {name: str(free_port()) for name in ("BACKEND_PORT", "GATEWAY_PORT")}
    procfile = (
        f"backend: {SERVE} {ports['BACKEND_PORT']}\n"
        f"gateway: {SERVE} {ports['GATEWAY_PORT']}\n"
        "outreach: echo worker-up && sleep 600\n"
    )
    proc, log = launch(tmp_path, procfile, **ports)
    try:
        wait_for(log, "The assistant is ready", proc)
        # The sleep itself: not its shell, nor a fork of that shell gone by the time it is read.
        [worker] = [p for p in pids_of("sleep 600") if _cmd(p).strip() == "sleep 600"]
        os.kill(worker, signal.SIGKILL)
        wait_for(log, "outreach | exited (code", proc)
        assert httpx.get(f"http://127.0.0.1:{ports['GATEWAY_PORT']}/healthz").text == "ok"
        wait_for(log, "starting it again in 2 s", proc)
        deadline = time.monotonic() + 10
        while log.read_text().count("worker-up") < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


def test_ctrl_c_stops_every_process_and_its_children(tmp_path: Path) -> None:
    port = free_port()
    procfile = (
        f"backend: {SERVE} {port}\n"
        # a child that ignores SIGTERM: SIGKILL after the deadline
        "outreach: bash -c 'trap \"\" TERM; echo stubborn-up; sleep 700' & wait\n"
    )
    proc, log = launch(tmp_path, procfile, BACKEND_PORT=str(port))
    wait_for(log, "stubborn-up", proc)
    began = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
    assert proc.wait(timeout=30) == 0
    took = time.monotonic() - began
    assert not pids_of("sleep 700"), "a child was left behind"
    assert not pids_of(f"http.server --bind 127.0.0.1 {port}")
    assert took < STOP_SECONDS + 2


def _cmd(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_process_pidfile_names_it_at_every_start(tmp_path: Path) -> None:
    """run_prod's <state>/run/<name>.pid: what a fault test signals (kill -9, SIGSTOP)."""
    pidfile = tmp_path / "run" / "worker.pid"
    process = Process(
        "worker", "exec sleep 600.25", None, env={"PATH": os.environ["PATH"]}, pidfile=pidfile
    )

    async def scenario() -> tuple[int, int]:
        stack = Stack([process], {})
        await stack.start(process)
        first = int(pidfile.read_text())
        assert process.proc is not None and first == process.proc.pid
        os.killpg(first, signal.SIGKILL)  # as kill -9 of a container: the supervisor restarts it
        deadline = time.monotonic() + 20
        while int(pidfile.read_text()) == first:
            assert time.monotonic() < deadline, "not started again"
            await asyncio.sleep(0.1)
        second = int(pidfile.read_text())
        stack.stopping.set()
        await stack.stop()
        return first, second

    first, second = asyncio.run(scenario())
    assert second != first and not pids_of("sleep 600.25")


def test_lines_are_printed_whole_however_they_arrive(tmp_path: Path) -> None:
    """Output is read as it comes (many lines in one read under load), and a line written in
    parts is printed once, whole."""
    port = free_port()
    procfile = (
        f"backend: {SERVE} {port}\n"
        "outreach: printf 'half'; sleep 0.3; printf ' and half\\nnext\\n'; sleep 600\n"
    )
    proc, log = launch(tmp_path, procfile, BACKEND_PORT=str(port))
    try:
        wait_for(log, "outreach | next", proc)
        lines = [line for line in log.read_text().splitlines() if line.startswith("outreach")]
        assert lines == ["outreach | half and half", "outreach | next"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
