"""The outreach configuration: the shipped files load and say what operations expect, and a
mistake in any of them is a clear error naming the file."""

from __future__ import annotations

import shutil
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from backend.config import ROOT
from backend.outreach.policy import (
    BUTTONS,
    TRIGGERS,
    CompliancePolicy,
    disclosure_for,
    load_compliance,
    load_outreach,
)
from backend.outreach.rules import is_opt_out
from backend.outreach.templates import (
    BUTTON_PAYLOADS,
    BUTTON_TITLES,
    MAX_CHARS,
    VARIABLES,
    Templates,
    buttons,
    fields_of,
    load_templates,
)
from backend.policy_files import PolicyFileError

CONFIG = ROOT / "config"
TEMPLATES = load_templates(CONFIG)
SCHEDULE = load_outreach(CONFIG, TEMPLATES)
COMPLIANCE = load_compliance(CONFIG)
VALUES = {name: f"<{name}>" for name in VARIABLES}


class TestShippedSchedule:
    def test_the_documented_steps(self) -> None:
        assert [(s.id, s.trigger, s.days) for s in SCHEDULE.steps] == [
            ("before_due_3", "before_due", 3),
            ("before_due_1", "before_due", 1),
            ("on_due", "on_due", 0),
            ("overdue_1", "overdue", 1),
            ("overdue_3", "overdue", 3),
            ("overdue_7", "overdue", 7),
            ("overdue_15", "overdue", 15),
            ("overdue_30", "overdue", 30),
            ("promise_due_1", "promise_due", 1),
            ("promise_due_0", "promise_due", 0),
            ("promise_broken", "promise_broken", 0),
            ("early_warning", "warning", 0),
            ("arrangement_due_1", "arrangement_due", 1),
            ("arrangement_due_0", "arrangement_due", 0),
        ]
        assert SCHEDULE.results_days == 3

    def test_overdue_1_tests_a_gentler_wording_on_one_in_ten(self) -> None:
        step = SCHEDULE.step("overdue_1")
        assert [(v.name, v.template, v.share) for v in step.variants] == [
            ("champion", "overdue_1", Decimal("0.9")),
            ("challenger", "overdue_1_soft", Decimal("0.1")),
        ]

    def test_buttons_by_stage(self) -> None:
        by_id = {s.id: s.buttons for s in SCHEDULE.steps}
        everything = ("pay_now", "see_plans", "talk_to_person")
        for step_id in ("before_due_3", "before_due_1", "on_due", "promise_due_1"):
            assert by_id[step_id] == ("pay_now",)
        assert by_id["arrangement_due_0"] == ("pay_now",)
        assert by_id["overdue_1"] == by_id["overdue_3"] == ("pay_now", "see_plans")
        for step_id in ("overdue_7", "overdue_15", "overdue_30", "promise_broken"):
            assert by_id[step_id] == everything

    def test_an_unknown_step_is_a_key_error(self) -> None:
        with pytest.raises(KeyError, match="overdue_2"):
            SCHEDULE.step("overdue_2")

    def test_every_step_variant_reaches_a_template(self) -> None:
        for step in SCHEDULE.steps:
            assert step.templates <= TEMPLATES.names
            assert step.variant_for(12345).template in TEMPLATES.names


class TestShippedTemplates:
    @pytest.mark.parametrize("name", sorted(TEMPLATES.names))
    def test_renders_in_both_languages(self, name: str) -> None:
        zh = TEMPLATES.render(name, "zh", VALUES)
        en = TEMPLATES.render(name, "en", VALUES)
        assert "<name>" in zh and "<name>" in en
        assert "{" not in zh + en and zh != en
        assert len(zh) <= MAX_CHARS and len(en) <= MAX_CHARS

    @pytest.mark.parametrize("name", sorted(TEMPLATES.names))
    def test_no_threats(self, name: str) -> None:
        text = TEMPLATES.render(name, "en", VALUES) + TEMPLATES.render(name, "zh", VALUES)
        for word in ("lawsuit", "police", "arrest", "family", "employer", "起诉", "报警", "家人"):
            assert word not in text.lower()

    def test_an_unknown_language_is_chinese(self) -> None:
        assert TEMPLATES.render("on_due", "fr", VALUES) == TEMPLATES.render("on_due", "zh", VALUES)

    def test_a_missing_value_is_a_key_error(self) -> None:
        with pytest.raises(KeyError, match="amount_due"):
            TEMPLATES.render("on_due", "en", {"name": "Li Wei"})

    def test_the_challenger_is_a_different_text(self) -> None:
        for lang in ("zh", "en"):
            assert TEMPLATES.text("overdue_1", lang) != TEMPLATES.text("overdue_1_soft", lang)

    def test_the_variables_a_template_names(self) -> None:
        assert TEMPLATES.variables("promise_due_1") == {
            "name",
            "promise_date",
            "loan_ref",
            "promise_amount",
            "currency",
        }


class TestButtons:
    def test_titles_and_payloads(self) -> None:
        assert buttons(["pay_now", "see_plans", "talk_to_person"], "en") == [
            {"title": "Pay now", "payload": "/make_payment"},
            {"title": "Payment plans", "payload": "/request_installment"},
            {"title": "Talk to a person", "payload": "/request_human"},
        ]
        assert [b["title"] for b in buttons(BUTTONS, "zh")] == [
            "立即还款",
            "查看还款方案",
            "转人工",
        ]
        assert buttons(["pay_now"], "fr") == [{"title": "立即还款", "payload": "/make_payment"}]
        assert buttons([], "en") == []

    def test_every_button_is_titled_and_sends_an_intent_the_assistant_knows(self) -> None:
        domain = yaml.safe_load((ROOT / "nlu" / "domain" / "base.yml").read_text())
        assert set(BUTTON_TITLES) == set(BUTTON_PAYLOADS) == set(BUTTONS)
        for payload in BUTTON_PAYLOADS.values():
            assert payload.removeprefix("/") in domain["intents"]

    def test_payloads_fit_telegram_callback_data(self) -> None:
        assert all(len(p.encode()) <= 64 for p in BUTTON_PAYLOADS.values())


class TestShippedCompliance:
    @pytest.mark.parametrize(
        ("phone", "profile"),
        [
            ("+8613800138000", "CN"),
            ("+6591234567", "SG"),
            ("+919812345678", "IN"),
            ("+6281234567890", "ID"),
            ("+447700900123", "GB"),
            ("+639171234567", "PH"),
            ("+12025550123", "default"),
            ("+8610000", "CN"),  # not a valid number, but +86 is China
            ("not a phone", "default"),
            ("", "default"),
        ],
    )
    def test_the_profile_by_phone_region(self, phone: str, profile: str) -> None:
        assert COMPLIANCE.profile_name_for(phone) == profile
        assert COMPLIANCE.profile_for(phone) == COMPLIANCE.profiles[profile]

    def test_the_windows(self) -> None:
        windows = {name: (p.window.start, p.window.end) for name, p in COMPLIANCE.profiles.items()}
        assert windows["default"] == (time(8), time(21))
        assert windows["CN"][1] <= time(22)
        assert windows["IN"] == (time(8), time(19))
        assert windows["ID"] == (time(8), time(20))

    def test_every_message_says_how_to_opt_out(self) -> None:
        for profile in COMPLIANCE.profiles.values():
            zh, en = disclosure_for(profile, "zh"), disclosure_for(profile, "en")
            assert zh is not None and "退订" in zh
            assert en is not None and "STOP" in en
            assert disclosure_for(profile, "fr") == zh

    def test_stop_and_tuiding_opt_out(self) -> None:
        for text in ("STOP", "Stop.", "退订", "退 订。", "unsubscribe"):
            assert is_opt_out(text, COMPLIANCE.opt_out_words)
        assert not is_opt_out("don't stop", COMPLIANCE.opt_out_words)


# --- mistakes -------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    for name in ("outreach.yml", "outreach_templates.yml", "compliance.yml"):
        shutil.copy(CONFIG / name, tmp_path / name)
    return tmp_path


def step(body: str) -> str:
    return f"steps:\n  - {{{body}}}\n"


GOOD_VARIANTS = (
    "variants: [{name: a, template: overdue_1, share: 0.5}, "
    "{name: b, template: overdue_1_soft, share: 0.5}]"
)


class TestScheduleMistakes:
    @pytest.mark.parametrize(
        ("text", "says"),
        [
            (
                step(
                    "id: o, trigger: overdue, days: 1, variants: ["
                    "{name: a, template: overdue_1, share: 0.9}, "
                    "{name: b, template: overdue_1_soft, share: 0.2}]"
                ),
                "add up to 1.1, not 1",
            ),
            (
                step(
                    "id: o, trigger: overdue, days: 1, variants: ["
                    "{name: a, template: overdue_1, share: 0.5}, "
                    "{name: a, template: overdue_1_soft, share: 0.5}]"
                ),
                "two variants have the same name",
            ),
            (
                "steps:\n  - {id: x, trigger: on_due, template: on_due}\n"
                "  - {id: x, trigger: overdue, days: 1, template: overdue}\n",
                "two steps have the id x",
            ),
            (
                "steps:\n  - {id: x, trigger: overdue, days: 3, template: overdue}\n"
                "  - {id: y, trigger: overdue, days: 3, template: overdue_help}\n",
                "steps x and y both fire at overdue 3",
            ),
            (
                step(f"id: o, trigger: overdue, days: 1, template: overdue, {GOOD_VARIANTS}"),
                "either template or variants",
            ),
            (step("id: o, trigger: overdue, days: 1"), "either template or variants"),
            (step("id: o, trigger: overdoo, days: 1, template: overdue"), "unknown trigger"),
            (
                step("id: o, trigger: before_due, days: 0, template: before_due"),
                "days for before_due must be from 1",
            ),
            (step("id: o, trigger: overdue, days: 0, template: overdue"), "from 1 to 366"),
            (step("id: o, trigger: on_due, days: 2, template: on_due"), "leave out days"),
            (
                step("id: o, trigger: overdue, days: 1, template: overdue, buttons: [call_me]"),
                "unknown button 'call_me'",
            ),
            (
                step("id: o, trigger: on_due, template: on_due, buttons: [pay_now, pay_now]"),
                "a button is listed twice",
            ),
            (step("id: o, trigger: overdue, days: 1, template: nope"), "no template named 'nope'"),
            (
                step("id: o, trigger: overdue, days: 1, template: promise_due_1"),
                "uses {promise_amount}, which overdue reminders have no value for",
            ),
            (
                step("id: Overdue-1, trigger: overdue, days: 1, template: overdue"),
                "may only use a-z, 0-9 and _",
            ),
            (
                step("id: o, trigger: on_due, template: on_due, valid_days: -1"),
                "valid_days: Input should be greater than or equal to 0",
            ),
            (step("id: o, trigger: on_due, tempalte: on_due"), "Extra inputs are not permitted"),
            ("results_days: 3\n", "steps: Field required"),
            ("steps: [\n", "not valid YAML"),
        ],
    )
    def test_a_bad_schedule_is_a_clear_error(self, config: Path, text: str, says: str) -> None:
        (config / "outreach.yml").write_text(text, encoding="utf-8")
        with pytest.raises(PolicyFileError, match=r"outreach\.yml") as error:
            load_outreach(config, load_templates(config))
        assert says in str(error.value)

    def test_variants_whose_shares_add_up_exactly(self, config: Path) -> None:
        thirds = (
            "variants: [{name: a, template: overdue_1, share: 0.3}, "
            "{name: b, template: overdue_1_soft, share: 0.3}, "
            "{name: c, template: overdue, share: 0.4}]"
        )
        (config / "outreach.yml").write_text(step(f"id: o, trigger: overdue, days: 1, {thirds}"))
        loaded = load_outreach(config, load_templates(config))
        assert [v.name for v in loaded.step("o").all_variants] == ["a", "b", "c"]

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(PolicyFileError, match=r"outreach\.yml: file not found"):
            load_outreach(tmp_path, TEMPLATES)


class TestTemplateMistakes:
    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ('t: {zh: "{amount}", en: "x"}\n', "unknown variable {amount}"),
            ('t: {zh: "x", en: "{amount_due:.2f}"}\n', "formatting is not allowed"),
            ('t: {zh: "x", en: "{name!r}"}\n', "formatting is not allowed"),
            ('t: {zh: "x", en: "{name.upper}"}\n', "is not a plain variable"),
            ('t: {zh: "x", en: "{name[0]}"}\n', "is not a plain variable"),
            ('t: {zh: "x", en: "{}"}\n', "is not a plain variable"),
            ('t: {zh: "x", en: "{0}"}\n', "is not a plain variable"),
            ('t: {zh: "x", en: "Hello {name"}\n', "literal brace"),
            ('t: {zh: "x", en: "a } b"}\n', "literal brace"),
            ('t: {zh: "x"}\n', "t.en: Field required"),
            ('t: {zh: "x", en: "  "}\n', "the text is empty"),
            ('t: {zh: "x", en: "y", fr: "z"}\n', "Extra inputs are not permitted"),
            (f't: {{zh: "x", en: "{"y" * (MAX_CHARS + 1)}"}}\n', "keep reminders short"),
            ('Overdue-1: {zh: "x", en: "y"}\n', "may only use a-z"),
            ("", "no templates"),
        ],
    )
    def test_a_bad_template_is_a_clear_error(self, config: Path, text: str, says: str) -> None:
        (config / "outreach_templates.yml").write_text(text, encoding="utf-8")
        with pytest.raises(PolicyFileError, match=r"outreach_templates\.yml") as error:
            load_templates(config)
        assert says in str(error.value)

    def test_literal_braces_are_written_twice(self) -> None:
        assert fields_of("{{ok}} {name}") == ["name"]
        assert Templates({"t": {"zh": "{{x}}", "en": "{name}"}}).render("t", "zh", {}) == "{x}"

    def test_both_languages_are_needed(self) -> None:
        with pytest.raises(ValueError, match="no en text"):
            Templates({"t": {"zh": "x"}})


COMPLIANCE_OK = """
default_profile: default
profiles:
  default: {window: {start: "08:00", end: "21:00"}}
opt_out_words: {en: [stop]}
"""


class TestComplianceMistakes:
    def test_a_minimal_file_takes_the_defaults(self, config: Path) -> None:
        (config / "compliance.yml").write_text(COMPLIANCE_OK)
        loaded = load_compliance(config)
        profile = loaded.profile_for("+8613800138000")
        assert (profile.max_per_day, profile.max_per_7_days, profile.disclosure) == (2, 6, None)
        assert loaded.jurisdictions == {}

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            (('"21:00"', "21:00"), 'write times in quotes, like "08:00"'),
            (('"21:00"', '"07:00"'), "must start before it ends"),
            (('"21:00"', '"21:00+08:00"'), "leave out zones"),
            (("default_profile: default", "default_profile: CN"), "default_profile 'CN' is not"),
            (("[stop]", '["!!!"]'), "'!!!' has no letters or digits"),
            (("[stop]", "[]"), "at least one opt-out word"),
            (("default: {", "default: {max_per_day: 0, "), "greater than or equal to 1"),
            (("default: {", "default: {timezone: Asia/Beijing, "), "unknown time zone"),
            (("default: {", "default: {disclosure: {zh: 退订}, "), "needs text in en"),
            (("default: {", "default: {colour: red, "), "Extra inputs are not permitted"),
            (("profiles:", "jurisdictions: {CN: china}\nprofiles:"), "no profile named 'china'"),
            (("profiles:", "jurisdictions: {China: default}\nprofiles:"), "not a phone region"),
        ],
    )
    def test_a_bad_profile_is_a_clear_error(
        self, config: Path, change: tuple[str, str], says: str
    ) -> None:
        old, new = change
        assert old in COMPLIANCE_OK
        (config / "compliance.yml").write_text(COMPLIANCE_OK.replace(old, new), encoding="utf-8")
        with pytest.raises(PolicyFileError, match=r"compliance\.yml") as error:
            load_compliance(config)
        assert says in str(error.value)


def test_the_triggers_and_buttons_are_fixed() -> None:
    assert TRIGGERS == (
        "before_due",
        "on_due",
        "overdue",
        "promise_due",
        "promise_broken",
        "arrangement_due",
        "warning",
    )
    assert BUTTONS == ("pay_now", "see_plans", "talk_to_person")
    assert isinstance(COMPLIANCE, CompliancePolicy)
