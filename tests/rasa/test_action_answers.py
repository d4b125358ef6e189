"""nlu/serve.py checks the action server's answers with one JSON Schema validator made once,
not by `jsonschema.validate` per answer (which first checks the format against JSON Schema's
metaschema: two thirds of Rasa's time for a turn). The check itself is Rasa's."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/
serve = importlib.import_module("serve")

ANSWER = {
    "events": [{"event": "slot", "name": "loan_ref", "value": "L-1", "timestamp": None}],
    "responses": [{"text": "您好", "buttons": [{"title": "查余额", "payload": "/check_balance"}]}],
}


@pytest.fixture
def remote() -> type[Any]:
    class Remote(RemoteAction):  # patched alone: RemoteAction itself stays Rasa's
        pass

    serve.validated_once(Remote)
    return Remote


def test_a_valid_answer_is_checked_without_checking_the_format_again(
    remote: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(*_: Any, **__: Any) -> None:
        raise AssertionError("jsonschema.validate was called")

    monkeypatch.setattr(jsonschema, "validate", slow)
    action = remote("action_check_balance", None)
    assert action._validate_action_result(ANSWER) is True
    assert action._validate_action_result({}) is True


def test_an_invalid_answer_gets_rasas_own_error(remote: type[Any]) -> None:
    action = remote("action_check_balance", None)
    for wrong in ({"events": "none"}, {"events": [{"name": "loan_ref"}]}):
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
            action._validate_action_result(wrong)
    # Rasa's own check agrees on each.
    plain = RemoteAction("action_check_balance", None)
    assert plain._validate_action_result(ANSWER) is True
    with pytest.raises(jsonschema.ValidationError):
        plain._validate_action_result({"events": "none"})


SLOTS = [{"event": "slot", "name": f"s{i}", "value": i, "timestamp": None} for i in range(6)]
ANSWERS: list[Any] = [
    ANSWER,
    {"events": SLOTS, "responses": []},
    {"events": [*SLOTS, {"event": "followup", "name": "action_listen"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "reset_slots"}]},
    {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}]},
    {"events": [{"event": "bot", "text": "hi", "data": {}}], "responses": [{"text": "x"}]},
    # not answers
    {"events": [{"event": "no_such_kind"}]},
    {"events": [{"name": "loan_ref", "value": "L-1"}]},  # no kind
    {"events": [{"event": 3}]},
    {"events": ["slot"]},
    {"events": {"event": "slot"}},
    {"events": [{"event": "slot", "name": 5, "value": 1}]},  # a slot's name is a string
    {"events": [{"event": "slot", "name": "s", "timestamp": "now"}]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"start": 0}]}}]},
    {"responses": ["hi"]},
    {"responses": {"text": "hi"}},
    [],
]


def test_each_event_checked_by_its_kind_alone_is_rasas_check(remote: type[Any]) -> None:
    """The check each event gets from its own kind's schema says what Rasa's whole format
    says, valid or not, for answers of every sort."""
    schema = RemoteAction.action_response_format_spec()
    kind = jsonschema.validators.validator_for(schema)  # as jsonschema.validate, Rasa's check
    fast = serve.by_event_name(schema, kind)
    assert fast is not None
    verdicts = []
    for answer in ANSWERS:
        rasas = kind(schema).is_valid(answer)
        assert fast(answer) is rasas, answer
        verdicts.append(rasas)
    assert verdicts.count(True) == 6 and verdicts.count(False) == len(ANSWERS) - 6


def test_another_format_is_checked_whole() -> None:
    schema = {"type": "object", "properties": {"events": {"type": "array"}}}
    assert serve.by_event_name(schema, jsonschema.Draft4Validator) is None
