"""`make run`'s process manager: starts every process of a Procfile, says when the assistant is
ready, keeps it running, and stops it whole.

Why not honcho (which `make run` used before): it stops every process as soon as one exits, so
a crash of the reminders worker took the web chat down, and a process that failed to start was
lost in the output of the others. Here:

- each process's output is printed with its name in front, as honcho did;
- the stack is *ready* when every process with a health check answers it (Rasa: with its model
  loaded); then the addresses are printed, once;
- a process with a health check (all but the reminders worker) that exits before the stack is
  ready is a failed start: everything is stopped and the last line says which process and why
  (its own last line of output); a process without one is only ever restarted, so the reminders
  worker never keeps the assistant from starting;
- after that, a process that exits is started again with a growing pause (2 s doubling to 60 s),
  as docker-compose's `restart: unless-stopped` does in production: the borrower-facing
  processes keep answering while, say, the reminders worker is down;
- Ctrl-C (or SIGTERM) stops every process and its children within STOP_SECONDS: each runs in a
  session of its own, is sent SIGTERM, and SIGKILL when it has not gone by then;
- a process given a pidfile has its process id (also its process group's) written there at
  every start, so an operator or a fault test can signal that very process.

Settings come from the environment and `.env` (the environment wins), as the processes read them.
Usage: python scripts/run_stack.py [Procfile]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from dotenv import dotenv_values

STOP_SECONDS = 8.0
FIRST_PAUSE, LONGEST_PAUSE = 2.0, 60.0
STEADY_SECONDS = 60.0  # up this long after a restart: the next crash starts the pause again
READY_WAIT_NOTE = 120.0  # say what is still starting every so often
LINE_LIMIT = 1 << 20  # longest output line read whole


def read_procfile(path: Path) -> dict[str, str]:
    processes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


def settings(env: dict[str, str]) -> dict[str, str]:
    """The ports and addresses every process takes by default, unless the environment says."""
    get = env.get
    backend_port = get("BACKEND_PORT", "8000")
    return {
        "backend": get("BACKEND_URL") or f"http://127.0.0.1:{backend_port}",
        "public": get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{backend_port}",
        "actions": f"http://127.0.0.1:{get('ACTION_SERVER_PORT', '5055')}",
        "rasa": get("RASA_URL") or f"http://127.0.0.1:{get('RASA_PORT', '5005')}",
        "gateway": f"http://127.0.0.1:{get('GATEWAY_PORT', '8080')}",
    }


def health_checks(env: dict[str, str]) -> dict[str, str]:
    """Process name -> the URL that answers 200 once it serves. Rasa's /status answers 200 only
    with a model loaded, so "ready" means the assistant can answer."""
    at = settings(env)
    token = env.get("RASA_TOKEN") or "dev-rasa-token"  # the Procfile's default
    return {
        "backend": f"{at['backend']}/healthz",
        "actions": f"{at['actions']}/health",
        "rasa": f"{at['rasa']}/status?token={token}",
        "gateway": f"{at['gateway']}/healthz",
    }


def banner(env: dict[str, str], seconds: float) -> str:
    at = settings(env)
    telegram = "on" if env.get("TELEGRAM_BOT_TOKEN") else "off (set TELEGRAM_BOT_TOKEN)"
    sms = env.get("SMS_PROVIDER") or "sandbox"  # the gateway's default outside production
    texts = f"{at['gateway']}/sandbox/sms" if sms == "sandbox" else f"{sms} (SMS_PROVIDER)"
    # the gateway's default outside production: the Cloud API with a token, else the sandbox
    wa = env.get("WHATSAPP_PROVIDER") or (
        "cloud" if env.get("WHATSAPP_ACCESS_TOKEN") else "sandbox"
    )
    whatsapp = (
        f"{at['gateway']}/sandbox/whatsapp" if wa == "sandbox" else f"{wa} (WHATSAPP_PROVIDER)"
    )
    return "\n".join(
        [
            f"The assistant is ready ({seconds:.0f} s). Open:",
            f"  web chat (chat as a borrower)   {at['gateway']}/webchat",
            f"  collector console (demo users)  {at['backend']}/console",
            f"  backend API and its docs        {at['backend']}/docs",
            f"  sandbox checkout pages          {at['public']}/pay/{{token}}",
            f"  SMS sandbox (texts sent)        {texts}",
            f"  WhatsApp sandbox (a phone)      {whatsapp}",
            f"  Rasa HTTP API                   {at['rasa']}/status",
            f"  action server                   {at['actions']}/health",
            f"  Telegram                        {telegram}",
            "  terminal chat                   make chat   (Ctrl-C here stops everything)",
        ]
    )


@dataclass
class Process:
    name: str
    command: str
    health: str | None
    env: dict[str, str] | None = None  # the stack's when unset
    cwd: Path | None = None
    pidfile: Path | None = None  # rewritten at every (re)start
    proc: asyncio.subprocess.Process | None = None
    last_line: str = ""
    started_at: float = 0.0
    pause: float = FIRST_PAUSE
    watcher: asyncio.Task[None] | None = None


class Stack:
    def __init__(
        self,
        processes: dict[str, str] | list[Process],
        env: dict[str, str],
        *,
        ready_banner: Callable[[float], str] | None = None,
        title: str = "make run",
    ) -> None:
        """A Procfile's processes (health checks by name), or processes of one's own."""
        if isinstance(processes, dict):
            checks = health_checks(env)
            processes = [Process(n, c, checks.get(n)) for n, c in processes.items()]
        self.env = env
        self.processes = processes
        self.banner = ready_banner or (lambda seconds: banner(env, seconds))
        self.title = title
        self.width = max(len(p.name) for p in processes)
        self.stopping = asyncio.Event()
        self.failed: str | None = None
        self.ready = False

    def say(self, name: str, line: str) -> None:
        self.say_all(name, [line])

    def say_all(self, name: str, lines: list[str]) -> None:
        """Lines of one process, in one write: under load the gateway's come many at a time."""
        if lines:
            sys.stdout.write("".join(f"{name:<{self.width}} | {line}\n" for line in lines))
            sys.stdout.flush()

    async def start(self, p: Process) -> None:
        if self.stopping.is_set():
            return
        p.proc = await asyncio.create_subprocess_exec(
            "/bin/bash", "-c", p.command,
            env=self.env if p.env is None else p.env, cwd=p.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop each process group
            limit=LINE_LIMIT,
        )  # fmt: skip
        if self.stopping.is_set():  # Ctrl-C came while it was being started: stop() missed it
            signal_groups([p.proc.pid], signal.SIGKILL)
        if p.pidfile is not None:
            # Written whole, then renamed: a reader never sees half a number.
            p.pidfile.parent.mkdir(parents=True, exist_ok=True)
            partial = p.pidfile.with_name(p.pidfile.name + ".new")
            partial.write_text(f"{p.proc.pid}\n")
            partial.replace(p.pidfile)
        p.started_at = time.monotonic()
        p.watcher = asyncio.create_task(self.watch(p, p.proc))

    async def watch(self, p: Process, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        partial = b""
        # What has come, not a line at a time: one write for the lines of a moment.
        while chunk := await proc.stdout.read(LINE_LIMIT):
            *whole, partial = (partial + chunk).split(b"\n")
            if len(partial) >= LINE_LIMIT:  # Rasa dumps tensors: such a line is printed in parts
                whole, partial = [*whole, partial], b""
            self.print_lines(p, whole)
        self.print_lines(p, [partial])
        code = await proc.wait()
        if self.stopping.is_set():
            return
        cause = p.last_line or "(no output)"
        if not self.ready and p.health is not None:
            self.failed = f"{p.name} failed to start (exit code {code}): {cause}"
            self.stopping.set()
            return
        if time.monotonic() - p.started_at > STEADY_SECONDS:
            p.pause = FIRST_PAUSE
        self.say(p.name, f"exited (code {code}); starting it again in {p.pause:.0f} s")
        pause, p.pause = p.pause, min(p.pause * 2, LONGEST_PAUSE)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), pause)
        if not self.stopping.is_set():
            await self.start(p)

    def print_lines(self, p: Process, raw: list[bytes]) -> None:
        lines = [line for b in raw if (line := b.decode(errors="replace").rstrip())]
        if lines:
            p.last_line = lines[-1][:2000]
            self.say_all(p.name, lines)

    async def wait_until_ready(self, began: float) -> None:
        waiting = {p.name: p.health for p in self.processes if p.health}
        noted = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as client:
            while waiting and not self.stopping.is_set():
                for name, url in list(waiting.items()):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(url)).status_code == 200:
                            del waiting[name]
                if time.monotonic() - noted > READY_WAIT_NOTE:
                    self.say("run", f"still starting: {', '.join(waiting)}")
                    noted = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), 0.5)
        if not self.stopping.is_set():
            self.ready = True
            print(self.banner(time.monotonic() - began), flush=True)

    async def stop(self) -> None:
        """SIGTERM to every process group, SIGKILL to what is left after STOP_SECONDS; done
        when no process of any group is left (a Procfile line may start children)."""
        groups = [p.proc.pid for p in self.processes if p.proc]
        signal_groups(groups, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while alive(groups) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if alive(groups):
            signal_groups(alive(groups), signal.SIGKILL)
            while alive(groups) and time.monotonic() < deadline + 2:
                await asyncio.sleep(0.1)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        began = time.monotonic()
        for p in self.processes:
            await self.start(p)
        ready = asyncio.create_task(self.wait_until_ready(began))
        await self.stopping.wait()
        ready.cancel()
        self.say("run", "stopping every process")
        await self.stop()
        if self.failed:
            print(f"{self.title} stopped: {self.failed}", flush=True)
            return 1
        self.say("run", "every process stopped")
        return 0


def signal_groups(groups: list[int], sig: signal.Signals) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)


def alive(groups: list[int]) -> list[int]:
    """The process groups that still have a process that is not a zombie."""
    if not Path("/proc").is_dir():  # not Linux: ask the kernel group by group
        return [g for g in groups if _group_exists(g)]
    left = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # fields after the command's closing parenthesis: state ppid pgrp ...
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
            if int(pgrp) in groups and state != "Z":
                left.add(int(pgrp))
    return sorted(left)


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    procfile = Path(argv[0] if argv else "Procfile")
    env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    env.update(os.environ)
    # One port variable moves a process; the others find it at the address derived from it.
    at = settings(env)
    env.setdefault("BACKEND_URL", at["backend"])
    env.setdefault("PUBLIC_BASE_URL", at["public"])
    env.setdefault("RASA_URL", at["rasa"])
    env.setdefault("ACTION_SERVER_URL", f"{at['actions']}/webhook")
    # Borrowers open the web chat there (an SMS's link); an SMS provider calls back there.
    env.setdefault("GATEWAY_PUBLIC_URL", at["gateway"])
    env.setdefault("WEBCHAT_PUBLIC_URL", f"{env['GATEWAY_PUBLIC_URL']}/webchat")
    return asyncio.run(Stack(read_procfile(procfile), env).run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
