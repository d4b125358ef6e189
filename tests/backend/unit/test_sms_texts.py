"""SMS length as the networks count it, the channel rules as a pure function, and the shipped
SMS texts fitting their segments with a real-length link and the profile's lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.config import ROOT
from backend.outbound.sms_length import measure
from backend.outreach.channels import Reach, choose
from backend.outreach.policy import disclosure_for, sms_opt_out_for
from backend.outreach.setup import load_outreach_config


class TestSegments:
    @pytest.mark.parametrize(
        ("text", "encoding", "units", "segments"),
        [
            ("", "gsm7", 0, 0),
            ("a" * 160, "gsm7", 160, 1),
            ("a" * 161, "gsm7", 161, 2),  # split: 153 a part
            ("a" * 306, "gsm7", 306, 2),
            ("a" * 307, "gsm7", 307, 3),
            ("€" * 80, "gsm7", 160, 1),  # an extension character costs two
            ("你" * 70, "ucs2", 70, 1),
            ("你" * 71, "ucs2", 71, 2),  # split: 67 a part
            ("你" * 134, "ucs2", 134, 2),
            ("你" * 135, "ucs2", 135, 3),
            ("a" * 159 + "é", "gsm7", 160, 1),  # é is in GSM 03.38
            ("a" * 69 + "ñ", "gsm7", 70, 1),
            ("a" * 69 + "ç", "ucs2", 70, 1),  # ç (lower case) is not: the whole text is UCS-2
            ("😀" * 35, "ucs2", 70, 1),  # an emoji is two UTF-16 units
        ],
    )
    def test_counted_as_the_networks_count(
        self, text: str, encoding: str, units: int, segments: int
    ) -> None:
        length = measure(text)
        assert (length.encoding, length.units, length.segments) == (encoding, units, segments)

    def test_a_pair_is_never_cut_across_two_segments(self) -> None:
        # 152 septets, then € (2): 154 does not fit a 153-septet part, so it starts the next
        assert measure("a" * 152 + "€" + "a" * 10).segments == 2
        assert measure("a" * 152 + "€" + "a" * 152).segments == 3
        assert measure("你" * 66 + "😀" + "你" * 67).segments == 3


NOW = datetime(2026, 12, 4, 2, tzinfo=UTC)
ORDER = ("recent_chat", "sms", "linked_chat")
EVERYWHERE = ("telegram", "webchat", "sms")


def pick(reach: Reach, order: tuple[str, ...] = ORDER, allowed: tuple[str, ...] = EVERYWHERE):
    return choose(order, reach, allowed=allowed, now=NOW, recent_days=30)


class TestChoosing:
    def test_a_recent_chat_then_sms_then_any_chat(self) -> None:
        recent = Reach("telegram", NOW - timedelta(days=29), "+8613800138000")
        assert (pick(recent).rule, pick(recent).channel) == ("recent_chat", "telegram")
        quiet = Reach("telegram", NOW - timedelta(days=31), "+8613800138000")
        assert (pick(quiet).rule, pick(quiet).channel) == ("sms", "sms")
        shared = Reach("webchat", NOW - timedelta(days=31), "+8613800138000", phone_shared=True)
        assert (pick(shared).rule, pick(shared).channel) == ("linked_chat", "webchat")
        assert [(t.rule, t.outcome) for t in pick(shared).tried] == [
            ("recent_chat", "not_recent"),
            ("sms", "shared_number"),
            ("linked_chat", "chosen"),
        ]

    def test_opted_out_and_forbidden_channels_are_passed_over(self) -> None:
        reach = Reach("telegram", NOW, "+8613800138000", opted_out=frozenset({"telegram"}))
        assert pick(reach).channel == "sms"
        assert pick(reach, allowed=("telegram", "webchat")).channel is None
        assert [t.outcome for t in pick(reach, allowed=("telegram",)).tried] == [
            "opted_out",
            "not_allowed",
            "opted_out",
        ]

    def test_nobody_to_reach(self) -> None:
        choice = pick(Reach(None, None, None))
        assert (choice.rule, choice.channel) == (None, None)


LONGEST = {
    "name": {"zh": "欧阳娜娜", "en": "Alexandra Montgomery"},
    "loan_ref": "L-2026-000123",
    "amount": "123456.78",
    "dpd": "120",
    "link": "https://chat.lender-example.com/webchat?start=" + "x" * 24,
}
TYPICAL = {
    "name": {"zh": "王芳", "en": "Grace Lim"},
    "loan_ref": "L-DEMO-10",
    "amount": "1035.98",
    "dpd": "7",
    "link": "https://chat.lender.cn/webchat?start=" + "x" * 24,
}


def _texts(language: str, sample: dict) -> list[tuple[str, str, str]]:
    config = load_outreach_config(ROOT / "config")
    values = {
        "name": sample["name"][language],
        "loan_ref": sample["loan_ref"],
        "currency": "CNY",
        "amount_due": sample["amount"],
        "overdue_amount": sample["amount"],
        "due_date": "2026-12-31",
        "dpd": sample["dpd"],
        "link": sample["link"],
    }
    found = []
    templates = {config.policy.sms_template(s) for s in config.policy.steps}
    for profile_name, profile in config.compliance.profiles.items():
        lines = [disclosure_for(profile, language), sms_opt_out_for(profile, language)]
        for name in sorted(templates):
            fields = config.templates.variables(name)
            text = config.templates.render(name, language, {k: values.get(k, "") for k in fields})
            found.append((profile_name, name, " ".join([text, *filter(None, lines)])))
    return found


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_shipped_sms_text_fits_its_segments(language: str) -> None:
    """Every profile's lines added: a usual text in two segments, the longest figures and
    address still within max_segments (3), so no shipped text is ever dropped as too long."""
    most = load_outreach_config(ROOT / "config").policy.channels.sms.max_segments
    for profile, name, text in _texts(language, TYPICAL):
        assert measure(text).segments <= 2, (profile, name, text)
    for profile, name, text in _texts(language, LONGEST):
        assert measure(text).segments <= most, (profile, name, text)
