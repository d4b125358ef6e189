"""Training examples from borrowers' words: personal data masked, the file a sorted, stable
Rasa document that a second label of the same words does not change."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.tuning.annotation import EntityMark, MarkRefused, annotate, plain
from backend.tuning.masking import mask_personal, training_text
from backend.tuning.training_data import (
    add_example,
    known_entities,
    known_intents,
    read_examples,
    render,
)

ROOT = Path(__file__).resolve().parents[3]
ENTITIES = frozenset({"amount", "date", "term_months"})


class TestMasking:
    @pytest.mark.parametrize(
        ("said", "kept"),
        [
            ("我的手机号换成13800138001了", "我的手机号换成[phone]了"),
            ("call me on +65 9123 4567 please", "call me on [phone] please"),
            ("身份证11010519900307123X", "身份证[id]"),
            ("card 6222 0212 3456 7890", "card [number]"),
            ("我下周五还两千五", "我下周五还两千五"),
            ("I can pay 2500 on the 20th", "I can pay 2500 on the 20th"),
        ],
    )
    def test_phone_id_and_long_numbers_are_masked_amounts_and_dates_kept(
        self, said: str, kept: str
    ) -> None:
        assert mask_personal(said) == kept


class TestTrainingFile:
    def test_examples_are_written_under_their_intent_in_rasa_format(self, tmp_path: Path) -> None:
        path = tmp_path / "labelled.yml"
        assert add_example(path, intent="request_human", text="找个真人  聊聊")
        assert add_example(path, intent="check_balance", text="how much left to pay")
        assert not add_example(path, intent="request_human", text="找个真人 聊聊")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["version"] == "3.1"
        assert [b["intent"] for b in data["nlu"]] == ["check_balance", "request_human"]
        assert read_examples(path) == {
            "check_balance": ["how much left to pay"],
            "request_human": ["找个真人 聊聊"],
        }

    def test_rendering_is_stable(self) -> None:
        examples = {"b": ["2", "1"], "a": ["x"]}
        assert render(examples) == render({"a": ["x"], "b": ["1", "2"]})

    def test_the_assistants_intents_come_from_its_domain(self) -> None:
        found = known_intents(ROOT / "nlu" / "domain")
        assert {"request_human", "out_of_scope", "promise_to_pay"} <= found

    def test_the_assistants_entities_come_from_its_domain(self) -> None:
        assert {"amount", "date", "term_months"} <= known_entities(ROOT / "nlu" / "domain")

    def test_the_same_words_marked_again_replace_the_old_marks(self, tmp_path: Path) -> None:
        path = tmp_path / "labelled.yml"
        add_example(path, intent="promise_to_pay", text="我下周五还两千五")
        assert add_example(path, intent="promise_to_pay", text="我下周五还[两千五](amount)")
        assert read_examples(path) == {"promise_to_pay": ["我下周五还[两千五](amount)"]}

    def test_a_relabelled_message_leaves_its_old_intent(self, tmp_path: Path) -> None:
        path = tmp_path / "labelled.yml"
        add_example(path, intent="inform", text="两千五")
        add_example(path, intent="check_balance", text="how much")
        add_example(
            path, intent="promise_to_pay", text="[两千五](amount)", replaces=("inform", "两千五")
        )
        assert read_examples(path) == {
            "check_balance": ["how much"],
            "promise_to_pay": ["[两千五](amount)"],
        }

    def test_a_relabel_to_words_already_there_still_leaves_the_old_intent(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "labelled.yml"
        add_example(path, intent="deny", text="ok")  # another message, labelled deny
        add_example(path, intent="affirm", text="ok")  # this one, first labelled affirm
        assert add_example(path, intent="deny", text="ok", replaces=("affirm", "ok"))
        assert read_examples(path) == {"deny": ["ok"]}
        # the same label again changes nothing
        assert not add_example(path, intent="deny", text="ok", replaces=("deny", "ok"))


def mark(example: str, *marks: tuple[str, str], unmasked: str = "") -> str:
    return annotate(
        example, [EntityMark(e, w) for e, w in marks], entities=ENTITIES, unmasked=unmasked
    )


def refusal(example: str, *marks: tuple[str, str], unmasked: str = "") -> MarkRefused:
    with pytest.raises(MarkRefused) as refused:
        mark(example, *marks, unmasked=unmasked)
    return refused.value


class TestEntityMarks:
    def test_marks_are_written_in_rasa_syntax_at_the_first_occurrence(self) -> None:
        written = mark("我下周五还两千五，不是两千五百", ("amount", "两千五"), ("date", "下周五"))
        assert written == "我[下周五](date)还[两千五](amount)，不是两千五百"
        assert plain(written) == "我下周五还两千五，不是两千五百"

    def test_no_marks_leave_the_example_as_it_is(self) -> None:
        assert mark("how much do I owe") == "how much do I owe"

    def test_english_words_with_spaces_can_be_marked(self) -> None:
        assert mark("I can pay 2500 next friday", ("date", "next friday")) == (
            "I can pay 2500 [next friday](date)"
        )

    def test_an_unknown_entity_is_refused(self) -> None:
        refused = refusal("我下周五还两千五", ("money", "两千五"))
        assert refused.code == "unknown_entity" and "money" in refused.message

    def test_words_not_in_the_message_are_refused(self) -> None:
        assert refusal("我下周五还两千五", ("amount", "三千")).code == "words_not_found"
        assert refusal("我下周五还两千五", ("amount", " ")).code == "empty_mark"

    def test_overlapping_marks_are_refused(self) -> None:
        refused = refusal("我下周五还两千五", ("amount", "两千五"), ("date", "还两千"))
        assert refused.code == "overlapping_marks"
        assert refusal("我还两千五", ("amount", "两千五"), ("date", "两千五")).code == (
            "overlapping_marks"
        )

    def test_words_masking_removed_are_refused_without_repeating_them(self) -> None:
        said = "我的手机13800138001，月底还"
        example = training_text(said)
        assert example == "我的手机[phone]，月底还"
        refused = refusal(example, ("amount", "13800138001"), unmasked=said)
        assert refused.code == "masked_words" and "13800138001" not in refused.message
        assert refusal(example, ("amount", "[phone]")).code == "masked_words"
        assert refusal(example, ("amount", "机[pho")).code == "masked_words"

    def test_at_most_three_marks(self) -> None:
        refused = refusal("a b c d", ("amount", "a"), ("date", "b"), ("amount", "c"), ("date", "d"))
        assert refused.code == "too_many_marks"

    def test_brackets_cannot_be_marked(self) -> None:
        assert refusal("pay (500) now", ("amount", "(500)")).code == "bracket_in_mark"
