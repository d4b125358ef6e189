"""The rules an operations override of the assistant's texts must keep, and the shipped texts
they override."""

from __future__ import annotations

from actions.messages import BUTTONS, TEXTS
from backend.config import ROOT
from backend.texts.catalogue import (
    Catalogue,
    Problem,
    as_yaml,
    changes,
    load_shipped,
    normalised,
    problems,
)

SHIPPED = load_shipped(ROOT / "config", ROOT / "nlu")


def test_the_catalogue_holds_every_text_the_actions_say_and_rasa_s_own_replies():
    assert set(TEXTS) < set(SHIPPED.texts)
    assert set(BUTTONS) == set(SHIPPED.buttons)
    assert SHIPPED.texts["utter_goodbye"] == {
        "en": "Goodbye, and take care. Message me any time.",
        "zh": "再见，祝您生活顺利。有需要随时找我。",
    }


def test_the_shipped_texts_pass_their_own_rules():
    everything = {
        "texts": {k: dict(v) for k, v in SHIPPED.texts.items()},
        "buttons": {k: dict(v) for k, v in SHIPPED.buttons.items()},
        "notices": {k: dict(v) for k, v in SHIPPED.notices.items()},
    }
    assert problems(everything, SHIPPED) == []


def fields(found: list[Problem]) -> dict[str, str]:
    return {p.field: p.message for p in found}


class TestProblems:
    def test_a_figure_dropped_or_added_is_named_with_its_field(self):
        found = fields(
            problems(
                {
                    "texts": {
                        "verify_failed": {"zh": "请重试。", "en": "Try again, {name}: {attempts}"}
                    }
                },
                SHIPPED,
            )
        )
        assert found == {
            "texts.verify_failed.zh": "must keep {attempts}",
            "texts.verify_failed.en": "unknown figure {name}",
        }

    def test_a_lone_brace_an_empty_text_and_english_in_the_chinese_field(self):
        found = fields(
            problems(
                {
                    "texts": {
                        "greet": {"zh": "Hello{name}", "en": "Hi {name"},
                        "thanks": {"en": " "},
                    }
                },
                SHIPPED,
            )
        )
        assert found["texts.greet.zh"] == "no Chinese in the Chinese text"
        assert "a { or } that fills in nothing" in found["texts.greet.en"]
        assert found["texts.thanks"] == "no such text"

    def test_unknown_sections_keys_languages_and_a_button_too_long_for_whatsapp(self):
        found = fields(
            problems(
                {
                    "replies": {},
                    "texts": {"greet": {"fr": "Bonjour{name}"}},
                    "buttons": {"/deny": {"en": "No, let me change what I said"}},
                },
                SHIPPED,
            )
        )
        assert found == {
            "replies": "unknown section; expected texts, buttons, notices, experiments",
            "texts.greet.fr": "unknown language; expected zh or en",
            "buttons./deny.en": "29 characters; at most 20",
        }

    def test_not_a_mapping(self):
        assert problems(["texts"], SHIPPED) == [
            Problem("", "expected a mapping of sections (texts, buttons, notices, experiments)")
        ]


def test_a_version_keeps_only_what_differs_from_the_shipped_text():
    shipped_zh = SHIPPED.texts["greet"]["zh"]
    kept = normalised({"texts": {"greet": {"zh": shipped_zh, "en": "Hi{name}!"}}}, SHIPPED)
    assert kept == {
        "texts": {"greet": {"en": "Hi{name}!"}},
        "buttons": {},
        "notices": {},
        "experiments": {},
    }


def test_changes_between_two_versions_name_each_language_with_before_and_after():
    small = Catalogue(
        texts={"a": {"zh": "甲", "en": "A"}, "b": {"zh": "乙", "en": "B"}},
        buttons={"/x": {"zh": "丙", "en": "X"}},
    )
    before = {"texts": {"a": {"en": "A1"}}, "buttons": {}}
    after = {"texts": {"b": {"zh": "乙2"}}, "buttons": {"/x": {"en": "X2"}}}
    found = [(c.key, c.language, c.before, c.after) for c in changes(before, after, small)]
    assert found == [("a", "en", "A1", "A"), ("b", "zh", "乙", "乙2"), ("/x", "en", "X", "X2")]


def test_an_export_reads_back_as_the_same_overrides():
    import yaml

    overrides = {
        "texts": {"greet": {"zh": "你好{name}"}},
        "buttons": {"/deny": {"en": "Change"}},
        "notices": {"back_to_bot": {"en": "The assistant is back."}},
    }
    assert yaml.safe_load(as_yaml(overrides)) == overrides


class TestExperiments:
    def test_a_second_wording_keeps_the_text_rules_and_a_share_within_bounds(self):
        found = fields(
            problems(
                {
                    "experiments": {
                        "verified": {"zh": "好的，{name}。", "en": "OK {nmae}", "share": 0.99},
                        "utter_goodbye": {"zh": "再见", "en": "Bye", "share": 0.5},
                        "handoff": {"zh": "马上为您转人工。", "share": 0.5, "colour": "red"},
                    }
                },
                SHIPPED,
            )
        )
        assert found == {
            "experiments.verified.share": "a share from 0.05 to 0.95",
            "experiments.verified.en": "unknown figure {nmae}; must keep {name}",
            "experiments.utter_goodbye": "no such text of the action server's",
            "experiments.handoff.en": "empty: write the text, or keep the shipped one",
            "experiments.handoff": "unknown colour",
        }

    def test_starting_and_stopping_one_are_changes(self):
        tried = {
            "experiments": {
                "handoff": {"zh": "马上为您转人工。", "en": "Right away.", "share": 0.5}
            }
        }
        started = [(c.section, c.key, c.language, c.after) for c in changes({}, tried, SHIPPED)]
        assert started == [
            ("experiments", "handoff", "zh", "马上为您转人工。"),
            ("experiments", "handoff", "en", "Right away."),
            ("experiments", "handoff", "share", "0.5"),
        ]
        assert len(changes(tried, {}, SHIPPED)) == 3
        assert normalised(tried, SHIPPED)["experiments"] == tried["experiments"]
