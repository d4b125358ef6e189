"""The console's words: both languages for every key, and no template asks for a missing one."""

from __future__ import annotations

import re
from pathlib import Path

from backend.console.i18n import CATALOG, translator
from backend.console.rendering import duration
from backend.staff.rules import ROLES

TEMPLATES = Path(__file__).resolve().parents[3] / "backend" / "console" / "templates"
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]*[a-z_])["']""")
PREFIXED_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.)["']\s*~""")


def test_every_key_has_english_and_chinese():
    missing = [k for k, (en, zh) in CATALOG.items() if bool(en) != bool(zh)]
    assert missing == []


def test_every_key_a_template_names_exists():
    used = {k for f in TEMPLATES.glob("*.html") for k in LITERAL_KEY.findall(f.read_text())}
    assert used - set(CATALOG) == set()


def test_every_family_a_template_builds_keys_from_exists():
    prefixes = {p for f in TEMPLATES.glob("*.html") for p in PREFIXED_KEY.findall(f.read_text())}
    assert prefixes
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in CATALOG), prefix


def test_every_role_has_a_name():
    assert all(f"role.{r}" in CATALOG for r in ROLES)


def test_values_fill_in_both_languages():
    assert translator("zh")("chat.title", id=7) == "会话 7"
    assert translator("en")("chat.title", id=7) == "Chat 7"
    assert translator("fr")("chat.title", id=7) == "Chat 7"


def test_waiting_times_read_naturally():
    assert duration(42) == "42 s"
    assert duration(200) == "3 min 20 s"
    assert duration(3900, "zh") == "1小时05分"


def test_every_reason_case_kind_and_sender_has_a_name():
    from backend.cases.rules import CASE_KINDS, HANDOFF_REASONS, HANDOFF_STATUSES
    from backend.conversations.messages import SENDERS

    names = [f"reason.{r}" for r in HANDOFF_REASONS] + [f"kind.{k}" for k in CASE_KINDS]
    names += [f"sender.{s}" for s in SENDERS] + [f"chat.status.{s}" for s in HANDOFF_STATUSES]
    assert [n for n in names if n not in CATALOG] == []


def test_every_status_the_panel_shows_has_a_name():
    from backend.cases.rules import CASE_STATUSES
    from backend.ledger.arrangement import ArrangementKind, ArrangementStatus

    statuses = {*CASE_STATUSES, "open", "kept", "partly_kept", "broken", "not_started"}
    statuses |= {s.value for s in ArrangementStatus}
    names = [f"status.{s}" for s in statuses] + [f"plan.{k.value}" for k in ArrangementKind]
    assert [n for n in names if n not in CATALOG] == []


def test_every_reason_a_reminder_step_does_not_fire_has_words():
    from backend.outreach.rules import NOT_DUE

    assert [c for c in NOT_DUE if f"notdue.{c}" not in CATALOG] == []
