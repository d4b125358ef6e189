"""Borrowers who leave the script, through the web chat API with the whole stack behind it: the
four conversations that used to stumble (a partial promise, a question inside it, settlement
buttons that all read alike, a scheduling phrasing in Chinese), a question and a cancel while
verifying, and a language switch halfway through a promise. Demo data as of 2026-11-29.

No promise is confirmed here: other tests of the shared stack record promises for these loans,
and a loan holds one open promise."""

from __future__ import annotations

import pytest

from actions.messages import say
from tests.e2e.conftest import Stack
from tests.e2e.webchat_client import WebBorrower

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")


def texts(chat: WebBorrower, message: str) -> list[str]:
    return [str(m.get("text", "")) for m in chat.say(message)]


def linked(stack: Stack, borrower: str) -> WebBorrower:
    chat = WebBorrower(stack.gateway)
    (verified,) = texts(chat, f"/start {stack.link_token(borrower)}")
    assert "verified" in verified or "核实成功" in verified
    return chat


def test_some_next_week_keeps_next_week_and_a_question_is_answered(stack: Stack) -> None:
    chat = linked(stack, "DEMO-06")
    (ask,) = texts(chat, "can I pay some next week")  # one message, and no complaint
    assert ask.startswith("How much will you pay?") and "227.05" in ask and "1135.24" in ask

    answer, again = texts(chat, "how much would be enough?")
    assert "227.05" in answer and "1135.24" in answer and "penalty interest" in answer
    assert again == ask  # the question, asked again once

    (which,) = texts(chat, "2000")
    assert which.startswith("Which day next week?") and "2026-11-30" in which
    (confirm,) = texts(chat, "friday")
    assert "2000.00" in confirm and "2026-12-04" in confirm
    assert texts(chat, "no") == [say("en", "promise_cancelled")]


def test_settlement_buttons_say_what_each_offer_is(stack: Stack) -> None:
    chat = linked(stack, "DEMO-06")
    replies = chat.say("can I get a discount if I pay everything now")
    offers = [
        b["title"]
        for m in replies
        for b in m.get("buttons") or []
        if b["payload"].startswith("/choose_offer")
    ]
    assert offers, replies
    assert len(set(offers)) == len(offers)
    for title in offers:
        assert title.split(". ", 1)[1].startswith("Settle ") and any(c.isdigit() for c in title)
    # Nothing paid for months: the smallest payments first, and the borrower is told so.
    said = "\n".join(m.get("text") or "" for m in replies)
    assert "Option 1 comes first: it has the smallest payments (at most " in said


def test_a_date_to_pay_in_chinese_starts_the_promise(stack: Stack) -> None:
    chat = linked(stack, "DEMO-05")
    (ask,) = texts(chat, "我想约个还款日期")
    assert ask.startswith("您打算还多少？")
    answer, again = texts(chat, "要还多少才够")
    assert "最低金额" in answer and again == ask
    (which,) = texts(chat, "两千")
    assert which.startswith("哪天还？")
    (which_day,) = texts(chat, "下周吧")
    assert which_day.startswith("下周哪一天？")
    (confirm,) = texts(chat, "周五")
    assert "2000.00" in confirm and "2026-12-04" in confirm
    assert "已取消" in "".join(texts(chat, "不对"))


def test_a_language_switch_inside_the_promise_keeps_the_amount(stack: Stack) -> None:
    chat = linked(stack, "DEMO-06")
    (which,) = texts(chat, "I can pay 2000")
    assert which.startswith("On which day?")
    switched = texts(chat, "说中文")
    assert switched[-1].startswith("哪天还？")
    (confirm,) = texts(chat, "周五")
    assert "2000.00" in confirm and "2026-12-04" in confirm and "确认" in confirm
    assert "已取消" in "".join(texts(chat, "算了"))


def test_why_the_phone_then_cancel_while_verifying(stack: Stack) -> None:
    chat = WebBorrower(stack.gateway)
    asked = texts(chat, "how much do i owe")
    assert "mobile number" in asked[-1]
    why, again = texts(chat, "why do you need my phone number")
    assert "never a password" in why and again == asked[-1]
    (stopped,) = texts(chat, "forget it")
    assert stopped.startswith("OK, I've stopped.")
    greeting = chat.say("hi")  # the form is over: a greeting is a greeting again
    assert greeting[0].get("buttons") and "Hello" in str(greeting[0].get("text"))


def test_a_contact_change_asks_for_the_new_number_and_records_it(stack: Stack) -> None:
    chat = linked(stack, "DEMO-06")
    (ask,) = texts(chat, "I changed my phone number")
    assert ask == say("en", "ask_new_contact")
    why, again = texts(chat, "why do you need that")
    assert why == say("en", "why_contact") and again == ask
    assert texts(chat, "+65 9123 4567") == [say("en", "case_contact_update")]
    with stack.api() as api:
        cases = api.get("/cases", params={"kind": "contact_update"}).json()
    assert any(c["details"] == "new contact: +65 9123 4567" for c in cases)
