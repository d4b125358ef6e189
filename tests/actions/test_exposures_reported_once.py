"""The wordings of texts under experiment said in a turn are reported once however often the turn
runs (actions/serve.py, TextExperiments): the report, sent after the action's answer, carries
the action run's key, so a turn sent again (nlu/turns.py) counts its borrower once. Through the
action server as the Procfile starts it, against the real backend (a process, demo data as of
2026-11-29), with a texts version running that tries a second wording of the dispute's reply."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actions import messages
from tests.actions.conftest import BACKEND_PYTHON, ROOT, RunningBackend
from tests.actions.test_action_server_auth import serving
from tests.actions.test_turn_run_again import verified_chat

pytestmark = pytest.mark.asyncio
SECRET = "exposures-test-secret"
TRIED = "已登记您的异议（试用措辞），核实期间暂停催收联系，并为您转人工处理。"
EXPERIMENT = {"experiments": {"case_dispute": {"zh": TRIED, "en": "Dispute noted.", "share": 0.9}}}
# An active texts version, as the console's approval leaves it (the backend's own models).
RUN_VERSION = """
import json, sys
from sqlalchemy.orm import Session
from backend.db import make_engine
from backend.texts.models import TextVersion
with Session(make_engine(sys.argv[1])) as session:
    session.add(TextVersion(number=1, overrides=json.loads(sys.argv[2]), status="active",
                            note="a second wording", base=0, proposed_by="test"))
    session.commit()
"""


@pytest.fixture(scope="module")
def server(backend: RunningBackend) -> Iterator[str]:
    database, version = backend.env["DATABASE_URL"], json.dumps(EXPERIMENT)
    subprocess.run(
        [str(BACKEND_PYTHON), "-c", RUN_VERSION, database, version],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with serving(
        ACTION_SERVER_TOKEN=SECRET,
        BACKEND_URL=backend.url,
        SERVICE_TOKEN=backend.token,
        TEXTS_REFRESH_SECONDS="1",
    ) as url:
        yield url


def arm_told_the_trial() -> str:
    """A borrower key that the experiment gives the second wording."""
    return next(
        arm
        for arm in (f"borrower-{n}" for n in range(100))
        if messages.variant_for("case_dispute", arm, 0.9) == "challenger"
    )


def call(user_id: str, turn: str, arm: str) -> dict[str, Any]:
    said = {
        "text": "这笔钱我三月份已经还过了",
        "intent": {"name": "dispute_debt"},
        "metadata": {"turn": turn, "arm": arm},
    }
    return {
        "next_action": "action_record_case",
        "sender_id": f"telegram:{user_id}",
        "tracker": {
            "sender_id": f"telegram:{user_id}",
            "slots": {"language": "zh", "verified": True},
            "latest_message": said,
            "events": [{"event": "user", "text": said["text"], "parse_data": said}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
        "domain": {},
        "version": "3.6.21",
    }


def run(server: str, body: dict[str, Any]) -> list[str]:
    answer = httpx.post(
        f"{server}/webhook", json=body, headers={"Authorization": f"Bearer {SECRET}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return [r.get("text") or "" for r in answer.json()["responses"]]


def exposures(backend: RunningBackend, user_id: str) -> int:
    path = backend.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM text_exposures WHERE conversation_id ="
            " (SELECT id FROM conversations WHERE channel = 'telegram' AND channel_user_id = ?)",
            (user_id,),
        ).fetchone()
    return int(count)


def counted(backend: RunningBackend, user_id: str, at_least: int) -> int:
    """The chat's exposures once the reports sent after the answers have landed."""
    deadline = time.monotonic() + 15
    while exposures(backend, user_id) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # a report that should not be there has had time to land too
    return exposures(backend, user_id)


async def test_a_turn_run_again_reports_its_wording_once(
    server: str, backend: RunningBackend
) -> None:
    arm = arm_told_the_trial()
    warm = await verified_chat(backend, "DEMO-03")
    deadline = time.monotonic() + 30  # the action server takes up the running version
    while TRIED not in run(server, call(warm, f"w{time.monotonic_ns()}", arm)):
        assert time.monotonic() < deadline, "the texts version with the trial never ran"
        time.sleep(0.5)

    user_id = await verified_chat(backend, "DEMO-03")
    first = run(server, call(user_id, "m801", arm))
    again = run(server, call(user_id, "m801", arm))  # the same turn, sent again
    assert TRIED in first and again == first
    assert counted(backend, user_id, at_least=1) == 1
    run(server, call(user_id, "m802", arm))  # the borrower's next message: counted
    assert counted(backend, user_id, at_least=2) == 2
