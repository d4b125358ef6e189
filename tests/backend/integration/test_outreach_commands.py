"""The reminders' command line and worker on a demo database: a dry run that writes nothing,
previews, one planning and sending pass, and the worker's schedule."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.__main__ import build_parser, main
from backend.config import ROOT, Settings, get_settings
from backend.conversations.models import Conversation
from backend.db import make_engine
from backend.demo.seed import seed_demo
from backend.outbound.models import OutboundMessage
from backend.outreach import cli, worker
from backend.outreach.models import Reminder
from backend.outreach.setup import load_outreach_config
from backend.types import utcnow

SEEDED = date(2026, 11, 29)
# DEMO-02's next installment falls due on 2026-12-01: three days ahead on 2026-11-28.
DAY = "2026-11-28"


@pytest.fixture
def demo_url(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The demo portfolio, with DEMO-02 having started the bot on Telegram."""
    path = tmp_path / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        seed_demo(session, id_hash_key="k", today=SEEDED)
        from backend.borrowers.models import Borrower

        emily = session.scalar(select(Borrower).where(Borrower.ref == "DEMO-02"))
        assert emily is not None
        session.add(
            Conversation(
                channel="telegram",
                channel_user_id="5001",
                borrower_id=emily.id,
                bound_at=utcnow(),
                bound_by="link_token",
            )
        )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BUSINESS_DATE", DAY)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def count(url: str, what: type) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        found = session.scalar(select(func.count()).select_from(what)) or 0
    engine.dispose()
    return found


class TestDryRun:
    def test_lists_what_would_go_and_writes_nothing(
        self, demo_url: str, capsys: pytest.CaptureFixture[str]
    ):
        main(["outreach", "dry-run", "--as-of", DAY, "--at", "10:00"])
        out = capsys.readouterr().out
        assert "1 would be sent" in out
        assert "SEND  L-DEMO-02" in out and "before_due_3" in out and "via telegram" in out
        assert count(demo_url, Reminder) == 0
        assert count(demo_url, OutboundMessage) == 0

    def test_says_why_the_rest_is_held(self, demo_url: str, capsys: pytest.CaptureFixture[str]):
        main(["outreach", "dry-run", "--as-of", DAY, "--at", "22:30"])
        out = capsys.readouterr().out
        assert "DEFER L-DEMO-02" in out
        assert "outside_window until 2026-11-29 08:00" in out  # Singapore and Shanghai: UTC+8


class TestPreview:
    def test_any_step_for_any_loan_and_date_in_either_language(
        self, demo_url: str, capsys: pytest.CaptureFixture[str]
    ):
        main(["outreach", "preview", "L-DEMO-02", "before_due_3", "--as-of", DAY])
        english = capsys.readouterr().out
        assert "fires on 2026-11-28" in english
        assert "L-DEMO-02" in english and "2026-12-01" in english and "SGD" in english
        main(["outreach", "preview", "L-DEMO-04", "overdue_1", "--language", "zh",
              "--variant", "challenger"])  # fmt: skip
        chinese = capsys.readouterr().out
        assert "challenger" in chinese and "does not fire" in chinese
        assert "L-DEMO-04" in chinese and "退订" in chinese

    def test_a_step_with_one_template_has_its_champion(
        self, demo_url: str, capsys: pytest.CaptureFixture[str]
    ):
        main(["outreach", "preview", "L-DEMO-02", "before_due_3", "--variant", "champion"])
        assert "(champion, template before_due)" in capsys.readouterr().out

    def test_a_step_that_does_not_fire_says_when_it_would(
        self, demo_url: str, capsys: pytest.CaptureFixture[str]
    ):
        main(["outreach", "preview", "L-DEMO-02", "overdue_1", "--as-of", DAY])
        head = capsys.readouterr().out.splitlines()[0]
        assert "does not fire on 2026-11-28 (next on 2026-12-02 if nothing changes before);" in head
        main(["outreach", "preview", "L-DEMO-02", "overdue_1", "--language", "en"])  # today
        shown = capsys.readouterr().out
        assert "does not fire on 2026-11-28; shown as of 2026-12-02, when it fires" in shown
        assert "payment due on 2026-12-01 for loan L-DEMO-02" in shown  # that day's figures

    def test_it_says_the_channel_and_shows_the_text_that_would_go(
        self, demo_url: str, capsys: pytest.CaptureFixture[str]
    ):
        # DEMO-10 never opened the bot: the reminder would be a text, its link shown hidden
        main(["outreach", "preview", "L-DEMO-10", "promise_broken"])
        head, text = capsys.readouterr().out.splitlines()[:2]
        assert head.endswith("via sms")
        assert "webchat?start=…" in text and "L-DEMO-10" in text

    def test_an_unknown_step_is_a_clear_error(self, demo_url: str):
        with pytest.raises(SystemExit, match="no step 'overdue_99'"):
            main(["outreach", "preview", "L-DEMO-02", "overdue_99"])


def readme_previews() -> list[str]:
    """The README's `outreach preview` examples, as written."""
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"^\s*(\.venv/bin/python -m backend outreach preview .*)$", readme, re.M)


class TestTheReadmeExamples:
    def test_run_on_demo_data_seeded_today_and_render_a_message(
        self, sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.delenv("BUSINESS_DATE", raising=False)
        today = Settings().today()  # the demo data's dates follow the day it is seeded
        path = tmp_path / "today.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        with Session(engine) as session, session.begin():
            seed_demo(session, id_hash_key="k", today=today)
        engine.dispose()
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
        env.pop("BUSINESS_DATE", None)
        examples = readme_previews()
        assert len(examples) >= 2
        for example in examples:
            command = shlex.split(example, comments=True)
            assert command[0] == ".venv/bin/python"
            done = subprocess.run(
                [sys.executable, *command[1:]],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, (example, done.stderr[-2000:])
            head, *message = done.stdout.strip().splitlines()
            loan_ref, step_id = command[5], command[6]
            assert head.startswith(f"{loan_ref} {step_id} ("), head
            assert loan_ref in "\n".join(message), done.stdout  # the template, rendered
            # Each example shows the step firing: today, or on the day it is shown as of.
            assert f"fires on {today}" in head or "shown as of" in head, head


class TestOnePass:
    def test_plan_then_send_queues_the_message_once(self, demo_url: str):
        settings = Settings(database_url=demo_url, business_date=date.fromisoformat(DAY))
        sessions = sessionmaker(make_engine(demo_url), expire_on_commit=False)
        config = load_outreach_config(ROOT / "config")
        ten = datetime.fromisoformat(f"{DAY}T10:00:00+08:00")
        assert worker.plan_today(sessions, settings, config, now=ten).planned == 1
        assert worker.send_due(sessions, settings, config, now=ten).count("send") == 1
        assert worker.plan_today(sessions, settings, config, now=ten).planned == 0
        assert worker.send_due(sessions, settings, config, now=ten).outcomes == []
        assert count(demo_url, OutboundMessage) == 1


def test_results_say_their_time_in_business_time_like_the_dry_run(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    settings = Settings(database_url=demo_url, business_date=date.fromisoformat(DAY))
    sessions = sessionmaker(make_engine(demo_url), expire_on_commit=False)
    config = load_outreach_config(ROOT / "config")
    ten = datetime.fromisoformat(f"{DAY}T10:00:00+08:00")
    worker.plan_today(sessions, settings, config, now=ten)
    assert worker.send_due(sessions, settings, config, now=ten).count("send") == 1
    monkeypatch.setattr(cli, "utcnow", lambda: datetime.fromisoformat(f"{DAY}T03:30:00+00:00"))
    main(["outreach", "results"])
    out = capsys.readouterr().out
    assert "(as of 2026-11-28 11:30 Asia/Shanghai):" in out  # 03:30 UTC
    assert "before_due_3" in out


def test_help_lists_every_command_and_every_verb() -> None:
    """`python -m backend --help` names every command, and the line of a command with verbs
    (outreach, models) names every verb: `outreach results` was missing."""
    parser = build_parser()
    top = " ".join(parser.format_help().split())
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    lines = {c.dest: c.help or "" for c in commands._choices_actions}
    assert "outreach" in lines and "models" in lines
    for name, command in commands.choices.items():
        assert lines[name] and " ".join(lines[name].split()) in top, name
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for verb in action.choices:
                    assert verb in lines[name], f"`{name}` in --help does not name {verb}"


def test_the_worker_plans_each_morning_sends_every_minute_and_snapshots_each_night(
    demo_url: str,
):
    settings = Settings(database_url=demo_url)
    sessions = sessionmaker(make_engine(demo_url))
    jobs = worker.scheduler(sessions, settings, load_outreach_config(ROOT / "config"))
    found = {job.id: str(job.trigger) for job in jobs.get_jobs()}
    assert found == {
        "plan": "cron[hour='0', minute='5']",
        "dispatch": "interval[0:01:00]",
        "snapshot": "cron[hour='0', minute='30']",
    }
