"""The fault matrix's borrowers' judgement (bench/fault_load.py), without a topology: what
counts as a stack trace shown to a borrower, what is a "try again shortly" notice, and which
borrower messages a chat's history shows answered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.messages import TEXTS as ACTION_TEXTS
from bench.fault_load import NOTICES, Sent, _answers_in, looks_like_a_stack_trace
from bot.texts import TEXTS as GATEWAY_TEXTS

ROOT = Path(__file__).resolve().parents[3]


def shipped_texts() -> list[str]:
    """Everything the assistant can say: the gateway's, the actions' and the domain's."""
    texts = [
        t for table in (GATEWAY_TEXTS, ACTION_TEXTS) for v in table.values() for t in v.values()
    ]
    for path in sorted((ROOT / "nlu" / "domain").glob("*.yml")):
        responses = (yaml.safe_load(path.read_text()) or {}).get("responses") or {}
        texts += [str(v.get("text", "")) for variants in responses.values() for v in variants]
    return texts


@pytest.mark.parametrize(
    "text",
    [
        'Traceback (most recent call last):\n  File "/app/bot/relay.py", line 12, in handle',
        "KeyError: 'sender'",
        "httpx.ReadTimeout",
        "sqlalchemy.exc.OperationalError: server closed the connection",
        "Internal Server Error",
        '{"detail": "the database cannot be reached now"}',
        "<html><head><title>502 Bad Gateway</title></head></html>",
    ],
)
def test_a_trace_or_an_error_body_is_seen(text: str) -> None:
    assert looks_like_a_stack_trace(text)


def test_nothing_the_assistant_says_looks_like_one() -> None:
    texts = shipped_texts()
    assert len(texts) > 100  # the scan reads what it should
    assert [t for t in texts if looks_like_a_stack_trace(t)] == []


def test_the_notices_are_the_gateways_and_the_actions_try_again_shortly() -> None:
    assert GATEWAY_TEXTS["assistant_down"]["en"] in NOTICES
    assert ACTION_TEXTS["backend_down"]["zh"] in NOTICES
    assert GATEWAY_TEXTS["too_fast"]["en"] not in NOTICES  # a refusal, answered by waiting


def sent(text: str) -> Sent:
    return Sent("webchat", "webchat:0", text, 0.0)


def test_a_history_shows_which_messages_were_answered() -> None:
    notice = GATEWAY_TEXTS["assistant_down"]["zh"]
    history = [
        {"from": "borrower", "text": "你好"},
        {"from": "bot", "text": "您好"},
        {"from": "borrower", "text": "我还欠多少钱"},
        {"from": "bot", "text": notice},
        {"from": "borrower", "text": "我还欠多少钱"},  # sent again after the notice
        {"from": "bot", "text": "您还欠 100 元"},
        {"from": "borrower", "text": "谢谢"},
    ]
    mine = [sent("你好"), sent("我还欠多少钱"), sent("谢谢")]
    answered = {m.text: a for m, a in _answers_in(history, mine)}
    assert answered == {"你好": True, "我还欠多少钱": True, "谢谢": False}


def test_only_the_last_messages_of_a_long_chat_are_matched() -> None:
    history = [{"from": "borrower", "text": "b"}, {"from": "bot", "text": "ok"}]
    mine = [sent("a"), sent("b")]  # "a" is older than the last 100 messages
    assert [(m.text, a) for m, a in _answers_in(history, mine)] == [("b", True)]
