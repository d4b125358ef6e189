"""The terminal chat (`python -m bot chat`, `make chat`): its pure helpers, and main() against
a fake gateway (httpx.MockTransport, no network)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import chat
from bot.chat import (
    Button,
    buttons_of,
    format_message,
    format_replies,
    message_body,
    parse_sse,
    pick_button,
    pushed_message,
)

ROOT = Path(__file__).resolve().parents[3]

BUTTONS: list[Button] = [
    Button(title="查询欠款", payload="/check_balance"),
    Button(title="转人工", payload="/request_human"),
]


class TestFormatMessage:
    def test_prefixes_the_text_with_who_wrote_it(self) -> None:
        assert format_message({"text": "你好"}, "bot") == ["bot> 你好"]
        assert format_message({"text": "I can help"}, "collector") == ["collector> I can help"]
        assert format_message({"text": "reminder"}, "system") == ["notice> reminder"]

    def test_indents_later_lines_under_the_first(self) -> None:
        assert format_message({"text": "应还总额\n本金 100"}, "bot") == [
            "bot> 应还总额",
            "     本金 100",
        ]

    def test_numbers_buttons_under_the_text(self) -> None:
        lines = format_message({"text": "请选择", "buttons": BUTTONS}, "bot")
        assert lines == ["bot> 请选择", "     [1] 查询欠款", "     [2] 转人工"]

    def test_numbers_from_the_given_start(self) -> None:
        lines = format_message({"text": "x", "buttons": BUTTONS[:1]}, "bot", first_number=3)
        assert lines[-1] == "     [3] 查询欠款"

    def test_buttons_without_text_still_show(self) -> None:
        assert format_message({"buttons": BUTTONS[:1]}, "bot") == ["bot>", "     [1] 查询欠款"]

    def test_an_empty_message_prints_nothing(self) -> None:
        assert format_message({"recipient_id": "x"}, "bot") == []


class TestButtonsOf:
    def test_skips_buttons_without_a_payload_and_titles_default_to_it(self) -> None:
        raw = {
            "buttons": [
                {"title": "a"},
                {"payload": "/affirm"},
                "junk",
                {"title": "", "payload": "/deny"},
            ]
        }
        assert buttons_of(raw) == [
            Button(title="/affirm", payload="/affirm"),
            Button(title="/deny", payload="/deny"),
        ]

    def test_none_is_no_buttons(self) -> None:
        assert buttons_of({"text": "hi", "buttons": None}) == []


class TestFormatReplies:
    def test_numbers_buttons_across_the_whole_batch(self) -> None:
        replies = [
            {"text": "first", "buttons": BUTTONS[:1]},
            {"text": "second", "buttons": BUTTONS[1:]},
        ]
        lines, buttons = format_replies(replies)
        assert "     [1] 查询欠款" in lines and "     [2] 转人工" in lines
        assert buttons == BUTTONS

    def test_an_empty_batch_is_nothing(self) -> None:
        assert format_replies([]) == ([], [])


class TestPickButton:
    def test_a_shown_number_presses_that_button(self) -> None:
        assert pick_button("2", BUTTONS) == BUTTONS[1]
        assert pick_button(" 1 ", BUTTONS) == BUTTONS[0]

    @pytest.mark.parametrize("line", ["0", "3", "500", "-1", "1.5", "一", "１", "ok", ""])
    def test_anything_else_is_text(self, line: str) -> None:
        assert pick_button(line, BUTTONS) is None

    def test_a_number_with_no_buttons_on_screen_is_text(self) -> None:
        assert pick_button("1", []) is None


class TestMessageBody:
    def test_plain_text_has_no_metadata(self) -> None:
        assert message_body("cli-12345678", "你好") == {"sender": "cli-12345678", "message": "你好"}

    def test_a_button_press_carries_its_title_and_the_language(self) -> None:
        body = message_body("cli-12345678", "/affirm", language="zh", button_title="是的")
        assert body["metadata"] == {"language": "zh", "button_title": "是的"}


class TestParseSse:
    def test_yields_message_events_and_skips_pings(self) -> None:
        stream = [
            ": ping",
            "",
            "event: message",
            'data: {"text": "hello"}',
            "",
        ]
        assert list(parse_sse(stream)) == [("message", '{"text": "hello"}')]

    def test_joins_data_lines_and_defaults_the_event_type(self) -> None:
        stream = ["data: one", "data:two", "", "event: other", "data: x", "", "data: unterminated"]
        assert list(parse_sse(stream)) == [("message", "one\ntwo"), ("other", "x")]

    def test_handles_crlf_line_ends(self) -> None:
        assert list(parse_sse(["data: a\r", "\r"])) == [("message", "a")]


class TestPushedMessage:
    def test_a_json_object_is_a_message(self) -> None:
        assert pushed_message('{"from": "collector", "text": "hi"}') == {
            "from": "collector",
            "text": "hi",
        }

    @pytest.mark.parametrize("data", ["not json", "[1, 2]", '"text"'])
    def test_anything_else_is_ignored(self, data: str) -> None:
        assert pushed_message(data) is None


class TestHistoryLines:
    def test_shows_each_speaker(self) -> None:
        lines = chat.history_lines(
            [
                {"from": "borrower", "text": "你好", "buttons": None},
                {"from": "bot", "text": "您好", "buttons": None},
                {"from": "collector", "text": "我是客服小王", "buttons": None},
            ]
        )
        assert lines == ["you> 你好", "bot> 您好", "collector> 我是客服小王"]


def fake_gateway(monkeypatch: pytest.MonkeyPatch, handler: Any) -> None:
    """Every httpx.Client that bot.chat makes talks to `handler` instead of the network."""
    real_client = httpx.Client

    def client(**kwargs: Any) -> httpx.Client:
        return real_client(transport=httpx.MockTransport(handler), **kwargs)

    monkeypatch.setattr(httpx, "Client", client)  # the module bot.chat uses


class TestMain:
    def test_a_gateway_that_is_not_running_is_one_line_and_exit_1(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        fake_gateway(monkeypatch, refuse)
        assert chat.main(["--url", "http://127.0.0.1:9"]) == 1
        err = capsys.readouterr().err
        assert err == (
            "the assistant is not running at http://127.0.0.1:9: start it with `make run`\n"
        )

    def test_a_number_presses_the_button_and_quit_leaves(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        posted: list[dict[str, Any]] = []
        sender, token = "w-" + "s" * 32, "v1.the-token"

        def gateway(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/webchat/sessions":
                return httpx.Response(201, json={"sender": sender, "token": token})
            # Every later call is this chat's: its token, no id in the address.
            assert request.headers["authorization"] == f"Bearer {token}"
            assert not request.url.query
            if request.url.path == "/webchat/history":
                return httpx.Response(200, json={"messages": []})
            if request.url.path == "/webchat/events":
                return httpx.Response(404)
            body = json.loads(request.content)
            posted.append(body)
            if body["message"] == "你好":
                return httpx.Response(
                    200, json=[{"recipient_id": body["sender"], "text": "您好", "buttons": BUTTONS}]
                )
            return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": "好的"}])

        fake_gateway(monkeypatch, gateway)
        monkeypatch.setattr("sys.stdin", io.StringIO("你好\n2\n/quit\nnever sent\n"))
        # the README's form, which also takes a token that starts with "-" (1 in 64 do)
        assert chat.main(["--lang", "zh", "--start=-tok_en-1"]) == 0
        assert {b["sender"] for b in posted} == {sender}
        assert [b["message"] for b in posted] == ["/start -tok_en-1", "你好", "/request_human"]
        assert posted[2]["metadata"] == {"language": "zh", "button_title": "转人工"}
        out = capsys.readouterr().out
        assert "bot> 您好" in out and "[2] 转人工" in out and "bot> 好的" in out

    def test_the_chat_id_is_the_gateways_not_a_flag(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_:
            chat.main(["--sender", "cli-test-0001"])
        assert exit_.value.code == 2


class TestHowItIsStarted:
    def test_the_help_names_the_command_people_type(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit):
            chat.main(["--help"])
        out = capsys.readouterr().out
        assert out.startswith("usage: python -m bot chat ")
        assert 'make chat ARGS="--start TOKEN --lang en"' in out

    @pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
    def test_make_chat_passes_its_flags_on(self) -> None:
        planned = subprocess.run(
            ["make", "--no-print-directory", "-n", "chat", "ARGS=--start tok_en-1 --lang en"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "-m bot chat --start tok_en-1 --lang en" in planned.splitlines()[-1]
