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
