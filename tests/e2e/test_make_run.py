"""The README itself, as a new user meets it: `make run` in a fresh copy of the repository, on
free ports and a fresh database, then a borrower's conversation through the web chat, the
reminders worker killed under it, Ctrl-C, and `make run` again on the same database.

The copy holds what a clone would (the tracked files, nothing git ignores); only the built
virtualenvs, the trained model and the npm packages are linked in from this checkout, and the
copy's files are dated in the past so make finds them current and installs nothing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import eventually, free_port
from tests.e2e.webchat_client import WebBorrower

# Processes of its own: beside the shared stack, on the other pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("own-processes")

ROOT = Path(__file__).resolve().parents[2]
# Built once by `make setup` / `make train` here and linked into the copy.
BUILT = [
    ".venv",
    ".venv-rasa",
    "nlu/models",
    "tools/fake_telegram/node_modules",
    "backend/console/assets/node_modules",
    "backend/console/static/vendor",
]
READY = "The assistant is ready"
STOP_SECONDS = 10


def copy_as_a_clone(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    past = time.time() - 365 * 24 * 3600
    for path in target.rglob("*"):
        os.utime(path, (past, past), follow_symlinks=False)
    for name in BUILT:
        if (ROOT / name).exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(ROOT / name)


@dataclass
class MakeRun:
    """One `make run` in the copy, as a terminal would run it (its own process group, so
    Ctrl-C reaches make and what make started, as the terminal's would)."""

    clone: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["make", "run"], cwd=self.clone, env=self.env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, seconds: float = 420) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + seconds
        while READY not in self.output().split("make run: started")[-1]:
            if self.proc.poll() is not None:
                pytest.fail(f"make run exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"make run not ready in {seconds} s:\n{self.output()[-3000:]}")
            time.sleep(0.5)

    def ctrl_c(self) -> float:
        """SIGINT to make's process group, as Ctrl-C in its terminal; how long until every
        process the copy started is gone."""
        assert self.proc is not None
        began = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        while processes_in(self.clone) and time.monotonic() - began < 30:
            time.sleep(0.1)
        self.proc.wait(timeout=30)
        return time.monotonic() - began


def processes_in(folder: Path) -> dict[int, str]:
    """Processes whose working directory is the folder or under it: pid -> command line."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            if cwd == folder or folder in cwd.parents:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(proc.name)] = command.strip()
        except (OSError, ValueError):
            continue
    return found


def readme_blocks() -> list[str]:
    """The README's shell blocks marked `<!-- readme-test -->`: safe to run on a demo stack."""
    text = (ROOT / "README.md").read_text()
    found = re.findall(r"<!-- readme-test -->\n[ ]*```sh\n(.*?)\n[ ]*```", text, flags=re.S)
    return [textwrap.dedent(block) for block in found]


def listening(pids: list[int]) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket these processes listen on, from /proc."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                found.add((_address(address), int(port, 16)))
    return found


def _address(hexed: str) -> str:
    raw = bytes.fromhex(hexed)
    if len(raw) == 4:
        return ".".join(str(b) for b in reversed(raw))
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]  # little-endian 32-bit words
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fresh") / "borrower-assistant"
    target.mkdir()
    copy_as_a_clone(target)
    return target


@pytest.fixture(scope="module")
def make_run(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    ports = {
        name: str(free_port())
        for name in ("BACKEND_PORT", "GATEWAY_PORT", "RASA_PORT", "ACTION_SERVER_PORT")
    }
    # a user's shell: none of the test suite's own settings, only the ports moved
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TERM", "USER")}
    env.update(ports)
    run = MakeRun(clone, env, tmp_path_factory.mktemp("make-run") / "make-run.log")
    yield run
    if run.proc is not None and run.proc.poll() is None:
        run.ctrl_c()


def test_make_run_from_a_fresh_clone_answers_and_stops_whole(make_run: MakeRun) -> None:
    env, clone = make_run.env, make_run.clone
    gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    backend = f"http://127.0.0.1:{env['BACKEND_PORT']}"
    api = httpx.Client(
        base_url=f"{backend}/api/v1", headers={"Authorization": "Bearer dev-service-token"}
    )
    make_run.start()
    make_run.wait_ready()
    banner = make_run.output()
    for line in (f"{gateway}/webchat", f"{backend}/console", f"{backend}/docs", "/pay/{token}"):
        assert line in banner
    # every port the processes opened, on this machine only
    ports = listening(list(processes_in(clone)))
    assert {
        int(env[name])
        for name in ("BACKEND_PORT", "GATEWAY_PORT", "RASA_PORT", "ACTION_SERVER_PORT")
    } <= {port for _, port in ports}, ports
    assert {address for address, _ in ports} <= {"127.0.0.1", "::1"}, ports

    # Greeted with the main options as buttons, in Chinese and in English.
    for message, words in (("你好", "借款服务助手"), ("hello", "loan assistant")):
        replies = WebBorrower(gateway).say(message)
        assert words in str(replies[0]["text"]) and replies[0]["buttons"], replies

    # A demo borrower links the chat with the README's command, sees the balance, promises to
    # pay, and asks for a person; the backend has the records.
    token = subprocess.run(
        [".venv/bin/python", "-m", "backend", "link-token", "DEMO-03"],
        cwd=clone, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    chat = WebBorrower(gateway)
    assert "核实成功" in chat.text(f"/start {token}")
    assert "应还总额" in chat.text("我现在还欠多少钱")
    assert "确认" in chat.text("我明天还五百")
    assert "已记录" in chat.text("是的")
    promises = api.get("/loans/L-DEMO-03/promises").json()
    assert [(p["amount"], p["status"]) for p in promises] == [("500.00", "open")]
    assert "人工" in chat.text("我要转人工")
    waiting = api.get("/handoffs", params={"status": "waiting"}).json()
    assert [h["user_id"] for h in waiting if h["user_id"] == chat.sender] == [chat.sender]

    # The reminders worker dies: the web chat keeps answering, and the worker comes back.
    worker = [
        pid
        for pid, command in processes_in(clone).items()
        if command.endswith("-m backend outreach worker") and "bash" not in command
    ]
    assert len(worker) == 1, processes_in(clone)
    os.kill(worker[0], signal.SIGKILL)
    assert "借款服务助手" in WebBorrower(gateway).text("你好")
    eventually(
        lambda: re.search(r"outreach \| exited .*starting it again", make_run.output()),
        what="the worker restarted",
    )

    # The README's runnable examples as typed (the default ports moved to this run's), and
    # `make bench-chat` at a small size, against this stack.
    shell = {
        **env,
        "BACKEND_URL": backend,
        "GATEWAY_URL": gateway,
        "RASA_URL": f"http://127.0.0.1:{env['RASA_PORT']}",
    }
    blocks = readme_blocks()
    assert len(blocks) >= 4
    for block in [*blocks, "make bench-chat BORROWERS=3 TURNS=2 ROUNDS=1 MIN_MESSAGES=1"]:
        script = block.replace("127.0.0.1:8000", backend.removeprefix("http://"))
        script = script.replace("127.0.0.1:8080", gateway.removeprefix("http://"))
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=clone, env=shell, capture_output=True, text=True, timeout=600, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, (block, done.stdout[-3000:], done.stderr[-3000:])

    def make(*target: str) -> str:
        """`make TARGET ...` in the clone against this stack; its output, once it passed."""
        done = subprocess.run(
            ["make", "--no-print-directory", *target],
            cwd=clone, env=shell, capture_output=True, text=True, timeout=120, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, (target, done.stdout[-3000:], done.stderr[-3000:])
        return done.stdout

    # `make bench-calls` at a small size: the backend's CPU per call of a borrower message.
    calls = make("bench-calls", "CALLS=40", "ROUNDS=1", "AT_ONCE=4")
    for call in (  # the first 20 open their chats
        "first: 20 calls",
        "inbound: 20 calls",
        "inbounds: 20 messages in calls of 6",
        "turn: 20 calls",
        "turns: 20 turns in calls of 6",
    ):
        assert re.search(rf"{call}, backend \d+\.\d\d ms CPU", calls), calls

    # `make profile` samples this stack's Rasa while borrowers chat: the stacks and a summary.
    profiled = make("profile", "PART=rasa", "DURATION=5")
    # Our own code in Rasa is in it: the channel, or the parse of the messages that came together.
    ours = r"\((channels|parses)\.py"
    assert re.search(r"\d+ samples", profiled) and re.search(ours, profiled), profiled
    assert re.search(ours, (clone / "var" / "profile" / "rasa.folded").read_text())

    # Ctrl-C: every process is gone within 10 s.
    took = make_run.ctrl_c()
    assert not processes_in(clone), processes_in(clone)
    assert took < STOP_SECONDS, f"stopping took {took:.1f} s"

    # make run again on the same database: it answers again, the data is still there.
    make_run.log.write_text(make_run.output() + "\nmake run: started\n")
    make_run.start()
    make_run.wait_ready()
    assert "database not empty" in make_run.output().split("make run: started")[-1]
    assert "借款服务助手" in WebBorrower(gateway).text("你好")
    assert len(api.get("/loans/L-DEMO-03/promises").json()) == 1
    took = make_run.ctrl_c()
    assert not processes_in(clone) and took < STOP_SECONDS
