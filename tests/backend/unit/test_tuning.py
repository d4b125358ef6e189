"""Training examples from borrowers' words: personal data masked, the file a sorted, stable
Rasa document that a second label of the same words does not change."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.tuning.masking import mask_personal
from backend.tuning.training_data import add_example, known_intents, read_examples, render

ROOT = Path(__file__).resolve().parents[3]


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
