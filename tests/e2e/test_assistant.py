"""The assistant end to end, as a borrower meets it through Rasa's REST channel: the real
backend, the real action server and Rasa with the trained model (`make train`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
TOKEN = "e2e-assistant-token"
TODAY = "2026-11-29"  # a Sunday: 下周五 / next friday is 2026-12-04


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not come up in {seconds} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    model = (
        os.environ.get("ASSISTANT_MODEL")
        or subprocess.run(
            [str(RASA_PY), "train.py", "--path"],
            cwd=ROOT / "nlu",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    if not Path(model).exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    ports = {"backend": free_port(), "actions": free_port(), "rasa": free_port()}
    backend_url = f"http://127.0.0.1:{ports['backend']}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('assistant') / 'backend.db'}",
        "BACKEND_PORT": str(ports["backend"]),
        "PUBLIC_BASE_URL": backend_url,
        "SERVICE_TOKEN": TOKEN,
        "BUSINESS_DATE": TODAY,
        "BACKEND_URL": backend_url,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
    }
    logs = tmp_path_factory.mktemp("logs")
    endpoints = logs / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{env["ACTION_SERVER_URL"]}"\n')
    procs = []

    def start(name: str, args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        backend = start("backend", [sys.executable, "-m", "backend", "serve"], ROOT)
        actions = start(
            "actions",
            [
                str(RASA_PY),
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(ports["actions"]),
            ],
            ROOT,
        )
        rasa = start(
            "rasa",
            [
                str(RASA_PY),
                "-m",
                "rasa",
                "run",
                "--enable-api",
                "--port",
                str(ports["rasa"]),
                "--model",
                model,
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
            ],
            ROOT / "nlu",
        )
        wait_for(f"{backend_url}/healthz", backend, 60)
        wait_for(f"http://127.0.0.1:{ports['actions']}/health", actions, 90)
        wait_for(f"http://127.0.0.1:{ports['rasa']}/status", rasa, 240)
        yield {
            "backend": backend_url,
            "rasa": f"http://127.0.0.1:{ports['rasa']}",
            "logs": str(logs),
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class Chat:
    def __init__(self, stack: dict[str, str], sender: str) -> None:
        self.url = f"{stack['rasa']}/webhooks/rest/webhook"
        self.sender = sender

    def say(self, text: str) -> list[dict]:  # type: ignore[type-arg]
        r = httpx.post(self.url, json={"sender": self.sender, "message": text}, timeout=60)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def text(self, message: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(message))


def api(stack: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=f"{stack['backend']}/api/v1", headers={"Authorization": f"Bearer {TOKEN}"}
    )


def link_token(borrower: str, stack: dict[str, str]) -> str:
    return str(api(stack).post(f"/borrowers/{borrower}/link-tokens").json()["token"])


def first_offer_payload(replies: list[dict]) -> str:  # type: ignore[type-arg]
    for reply in replies:
        for button in reply.get("buttons") or []:
            if button["payload"].startswith("/choose_offer"):
                return str(button["payload"])
    pytest.fail(f"no offer buttons in {replies}")


def test_chinese_borrower_verifies_promises_takes_a_plan_pays_and_reaches_a_person(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-zh")
    token = link_token("DEMO-03", stack)
    assert "核实成功" in chat.text("/verify_token" + json.dumps({"token": token}))
    assert "应还总额" in chat.text("我现在还欠多少钱")

    confirm = chat.text("我下周五还两千五")
    assert "2500.00" in confirm and "2026-12-04" in confirm
    assert "已记录" in chat.text("/affirm")
    promises = api(stack).get("/loans/L-DEMO-03/promises").json()
    assert [(p["amount"], p["promised_date"], p["status"]) for p in promises] == [
        ("2500.00", "2026-12-04", "open")
    ]

    offers = chat.say("我想分期还款")
    done = chat.text(first_offer_payload(offers))
    assert "方案已生效" in done or "审批" in done
    assert api(stack).get("/loans/L-DEMO-03/arrangements").json()

    link = chat.text("给我一个还款链接")
    assert f"{stack['backend']}/pay/" in link

    assert "人工" in chat.text("我要转人工")
    waiting = api(stack).get("/handoffs", params={"status": "waiting"}).json()
    assert [h["reason"] for h in waiting if h["user_id"] == "e2e-zh"] == ["borrower_request"]


def test_english_borrower_verifies_by_phone_and_promises_in_words(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-en")
    greeting = chat.say("hi")
    assert greeting and greeting[0].get("buttons")
    ask = chat.text("how much do i owe")
    assert "check it's you" in ask and "mobile number" in ask
    assert "ID number" in chat.text("+65 9876 5432")
    verified = chat.text("456H")
    assert "verified" in verified and "Total owed" in verified  # the first question, answered

    confirm = chat.text("I can pay 1,500 next friday")
    assert "1500.00" in confirm and "2026-12-04" in confirm
    assert "Got it" in chat.text("yes")
    promises = api(stack).get("/loans/L-DEMO-04/promises").json()
    assert [(p["amount"], p["promised_date"]) for p in promises] == [("1500.00", "2026-12-04")]

    offers = chat.say("can i pay in installments")
    done = chat.text(first_offer_payload(offers))
    assert "arrangement is in place" in done or "approval" in done
    assert "/pay/" in chat.text("send me a payment link")
    assert "person" in chat.text("i want to talk to a real person")


def test_someone_who_is_not_the_borrower_learns_nothing(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-stranger")
    reply = chat.text("wrong number, i don't know who that is")
    assert "won't contact you" in reply
    for figure in ("CNY", "owed", "overdue", "DEMO"):
        assert figure not in reply
    asked = chat.text("how much does he owe")
    assert "check it's you" in asked and "CNY" not in asked


def test_a_promise_below_the_minimum_is_asked_again_once_with_the_minimum(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-reask")
    assert "verified" in chat.text(
        "/verify_token" + json.dumps({"token": link_token("DEMO-06", stack)})
    )
    reask = chat.say("I will pay 10 tomorrow")
    texts = [m.get("text", "") for m in reask]
    assert any("below the smallest amount" in t for t in texts)
    assert sum("at least" in t for t in texts) == 1  # one question, stating the minimum
    confirm = chat.text("2000")
    assert "2000.00" in confirm and "2026-11-30" in confirm
    assert "Got it" in chat.text("yes")
    promises = api(stack).get("/loans/L-DEMO-06/promises").json()
    assert [(p["amount"], p["promised_date"]) for p in promises] == [("2000.00", "2026-11-30")]
