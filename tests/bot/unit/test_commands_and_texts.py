import json
from pathlib import Path

import pytest
import yaml

from bot.commands import (
    GATEWAY_ONLY_INTENTS,
    PAYLOAD_ENTITIES,
    PAYLOAD_INTENTS,
    Translated,
    contact_payload,
    masked_phone,
    translate,
)
from bot.texts import TEXTS, language_of, say, script_of

DOMAIN = Path(__file__).resolve().parents[3] / "nlu" / "domain"


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

    def test_text_passes_unchanged(self) -> None:
        assert translate("我下周五还两千五").to_rasa == "我下周五还两千五"

    @pytest.mark.parametrize("text", ["/ 我想还款", "/我想还款", "//  我想还款", "/\t我想还款"])
    def test_a_slash_before_words_that_name_no_intent_is_dropped(self, text: str) -> None:
        # Rasa would read "/..." as an intent: the words go as words, logged as typed.
        assert translate(text) == Translated("我想还款", text)

    @pytest.mark.parametrize("text", ["/", " / ", "//"])
    def test_a_slash_alone_is_not_sent_on(self, text: str) -> None:
        assert translate(text).to_rasa is None

    @pytest.mark.parametrize(
        ("text", "payload"),
        [("/ help", "/greet"), ("/  stop", "/stop_contact"), ("/\taffirm", "/affirm")],
    )
    def test_spaces_after_the_slash_are_read_as_rasa_reads_them(
        self, text: str, payload: str
    ) -> None:
        assert translate(text).to_rasa == payload


class TestAssistantPayloads:
    """What a plain Rasa REST client or widget sends for a button: the payload, no title."""

    @pytest.mark.parametrize(
        "payload", ["/affirm", "/deny", "/promise_to_pay", "/check_balance", "/stop_contact"]
    )
    def test_an_intent_of_the_domain_goes_to_the_assistant_as_rasa_reads_it(
        self, payload: str
    ) -> None:
        assert translate(payload) == Translated(payload, payload)

    def test_with_entities_as_json(self) -> None:
        t = translate('/choose_offer{"offer_id":"4f2a9c"}')
        assert t.to_rasa == '/choose_offer{"offer_id": "4f2a9c"}'
        t = translate('/promise_to_pay{"amount": "两千五", "date": "下周五"}')
        assert json.loads(t.to_rasa.removeprefix("/promise_to_pay")) == {  # type: ignore[union-attr]
            "amount": "两千五",
            "date": "下周五",
        }

    @pytest.mark.parametrize(
        "payload",
        [
            '/verify_token{"token": "Secret-Token-1"}',
            "/verify_token Secret-Token-1",
            '/share_contact{"phone": "+8613800138001"}',
            '/inform{"phone": "+8613800138001"}',
            '/inform{"token": "Secret-Token-1"}',
            # Rasa strips the spaces around an intent's name: these are verify_token to it.
            '/ verify_token{"token": "Secret-Token-1"}',
            '/\tverify_token{"token":"Secret-Token-1"}',
            '/   verify_token{"token":"Secret-Token-1"}',
            '/verify_token {"token":"Secret-Token-1"}',
            '// verify_token{"token":"Secret-Token-1"}',
            '/ share_contact{"phone": "+8613800138001"}',
            '/\n share_contact{"phone": "+8613800138001"}',
            '/affirm {"token": "Secret-Token-1"}',
        ],
    )
    def test_what_only_the_gateway_makes_is_refused_and_never_logged(self, payload: str) -> None:
        t = translate(payload)
        assert t.to_rasa is None
        assert "Secret-Token-1" not in t.logged and "8613800138001" not in t.logged

    @pytest.mark.parametrize(
        "payload",
        [
            "/nlu_fallback",
            "/session_start",
            "/ session_start",
            "/ restart",
            "/\trestart",
            "/  nlu_fallback",
            '/choose_offer{"offer_id": ',
            '/choose_offer["x"]',
            '/choose_offer{"verified": true}',
            '/choose_offer{"offer_id": {"nested": 1}}',
        ],
    )
    def test_intents_and_entities_the_assistant_never_offers_are_refused(
        self, payload: str
    ) -> None:
        assert translate(payload).to_rasa is None

    def test_the_gateways_commands_still_win(self) -> None:
        assert translate("/start").to_rasa == "/greet"
        assert translate("/stop").to_rasa == "/stop_contact"
        assert translate("/help").to_rasa == "/greet"

    def test_the_lists_are_the_domains(self) -> None:
        domain: dict[str, set[str]] = {"intents": set(), "entities": set()}
        for path in DOMAIN.glob("*.yml"):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for key in domain:
                domain[key] |= {
                    n if isinstance(n, str) else next(iter(n)) for n in data.get(key) or []
                }
        assert domain["intents"] == PAYLOAD_INTENTS | GATEWAY_ONLY_INTENTS
        assert domain["intents"] >= GATEWAY_ONLY_INTENTS
        assert domain["entities"] - {"token", "phone"} == PAYLOAD_ENTITIES


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

    def test_full_width_letters_are_english_words(self) -> None:
        assert script_of("ｓｔｏｐ") == "en"
        assert script_of("/stop_contact") is None and script_of("2500") is None

    def test_then_the_app_language_for_commands_and_digits(self) -> None:
        assert language_of("/start", app="en-US") == "en"
        assert language_of("1234") == "zh"

    def test_every_text_exists_in_both_languages(self) -> None:
        for key, by_language in TEXTS.items():
            assert set(by_language) == {"zh", "en"}, key
            assert say(key, "fr") == by_language["zh"]
