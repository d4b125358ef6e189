"""Replies as WhatsApp shows them: reply buttons up to three, a list beyond, titles within
WhatsApp's limits, a payload too long for an id left out, long text split; Meta's signature."""

from __future__ import annotations

import json

from bot.whatsapp.render import messages
from bot.whatsapp.webhook import read_call, signature_ok
from tests.bot.fake_whatsapp import APP_SECRET, call, signature, text_message


def buttons(n: int, title: str = "选项") -> list[dict[str, str]]:
    return [
        {"title": f"{title}{i}", "payload": f'/choose_offer{{"offer_id": "o{i}"}}'}
        for i in range(n)
    ]


def test_up_to_three_buttons_are_reply_buttons() -> None:
    [only] = messages("请选择", buttons(3), "zh")
    action = only["interactive"]["action"]
    assert only["interactive"]["type"] == "button" and len(action["buttons"]) == 3
    assert action["buttons"][0]["reply"]["id"] == '/choose_offer{"offer_id": "o0"}'


def test_more_are_a_list_with_long_titles_cut_and_kept_in_the_description() -> None:
    [only] = messages("Choose a plan", buttons(5, "6 monthly payments of 1,234.56 CNY #"), "en")
    interactive = only["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Choose"
    row = interactive["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) == 24 and row["title"].endswith("…")
    assert row["description"].startswith("6 monthly payments")


def test_a_button_title_is_cut_to_twenty() -> None:
    [only] = messages("x", [{"title": "Talk to a person right now please", "payload": "/h"}], "en")
    title = only["interactive"]["action"]["buttons"][0]["reply"]["title"]
    assert title == "Talk to a person ri…" and len(title) == 20


def test_a_payload_too_long_for_an_id_is_left_out() -> None:
    assert [
        m["type"] for m in messages("x", [{"title": "t", "payload": "/" + "a" * 300}], "zh")
    ] == ["text"]


def test_long_text_is_split_and_the_buttons_go_with_the_last_piece() -> None:
    sent = messages("很长。" * 2000, buttons(1), "zh")
    assert [m["type"] for m in sent][-1] == "interactive"
    assert all(len(m["text"]["body"]) <= 4096 for m in sent if m["type"] == "text")


def test_metas_signature_over_the_raw_body() -> None:
    body = call(messages=[text_message("8613800138401", "hi", "wamid.X")])
    assert signature_ok(APP_SECRET, body, signature(body)["X-Hub-Signature-256"])
    assert not signature_ok(APP_SECRET, body + b" ", signature(body)["X-Hub-Signature-256"])
    assert not signature_ok(APP_SECRET, body, None)
    found, statuses = read_call(json.loads(body))
    assert [(m.wa_id, m.text, m.kind) for m in found] == [("8613800138401", "hi", "text")]
    assert statuses == []
