import json

import pytest

from bot.commands import contact_payload, masked_phone, translate
from bot.texts import TEXTS, language_of, say


class TestTranslate:
    def test_start_with_a_token_verifies_and_the_token_is_never_logged(self) -> None:
        t = translate("/start AbC_123-x")
        assert t.to_rasa == "/verify_token" + json.dumps({"token": "AbC_123-x"})
        assert "AbC_123" not in t.logged

    def test_start_alone_greets(self) -> None:
        assert translate("/start").to_rasa == "/greet"

    @pytest.mark.parametrize(
        ("command", "payload"),
        [
            ("/help", "/greet"),
            ("/language", "/change_language"),
            ("/human", "/request_human"),
            ("/stop", "/stop_contact"),
            ("/HUMAN@LenderBot", "/request_human"),
        ],
    )
    def test_channel_commands_become_intents(self, command: str, payload: str) -> None:
        assert translate(command).to_rasa == payload

    def test_an_unknown_command_is_not_sent_on(self) -> None:
        assert translate("/balance_now").to_rasa is None

    def test_text_and_payloads_pass_unchanged(self) -> None:
        assert translate("我下周五还两千五").to_rasa == "我下周五还两千五"
        payload = '/share_contact{"phone": "+8613800138001"}'
        assert translate(payload).to_rasa == payload


def test_a_shared_contact_is_a_payload_and_logged_masked() -> None:
    assert json.loads(contact_payload("+8613800138001").removeprefix("/share_contact")) == {
        "phone": "+8613800138001"
    }
    assert masked_phone("+86 138 0013 8001") == "shared phone number ****8001"


class TestLanguage:
    def test_the_conversations_language_wins(self) -> None:
        assert language_of("hello", conversation="zh") == "zh"

    def test_then_the_script_of_the_message(self) -> None:
        assert language_of("我想还款", app="en") == "zh"
        assert language_of("I want to pay", app="zh-hans") == "en"

    def test_then_the_app_language_for_commands_and_digits(self) -> None:
        assert language_of("/start", app="en-US") == "en"
        assert language_of("1234") == "zh"

    def test_every_text_exists_in_both_languages(self) -> None:
        for key, by_language in TEXTS.items():
            assert set(by_language) == {"zh", "en"}, key
            assert say(key, "fr") == by_language["zh"]
