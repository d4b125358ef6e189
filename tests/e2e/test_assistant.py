"""The assistant end to end, as a borrower meets it through Rasa's REST channel: the real
backend, the real action server and Rasa with the trained model (`make train`)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import RASA_TOKEN, Stack

# One pytest-xdist worker runs every test of the shared stack (make test-e2e).
pytestmark = pytest.mark.xdist_group("stack")


class Chat:
    def __init__(self, stack: Stack, sender: str) -> None:
        self.url = f"{stack.rasa}/webhooks/rest/webhook"
        self.sender = sender

    def say(self, text: str) -> list[dict]:  # type: ignore[type-arg]
        r = httpx.post(
            self.url,
            json={"sender": self.sender, "message": text},
            headers={"Authorization": f"Bearer {RASA_TOKEN}"},  # as the gateway sends it
            timeout=60,
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def text(self, message: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(message))


def first_offer_payload(replies: list[dict]) -> str:  # type: ignore[type-arg]
    for reply in replies:
        for button in reply.get("buttons") or []:
            if button["payload"].startswith("/choose_offer"):
                return str(button["payload"])
    pytest.fail(f"no offer buttons in {replies}")


def test_chinese_borrower_verifies_promises_takes_a_plan_pays_and_reaches_a_person(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-zh")
    token = stack.link_token("DEMO-03")
    assert "核实成功" in chat.text("/verify_token" + json.dumps({"token": token}))
    assert "应还总额" in chat.text("我现在还欠多少钱")

    confirm = chat.text("我下周五还两千五")
    assert "2500.00" in confirm and "2026-12-04" in confirm
    assert "已记录" in chat.text("/affirm")
    promises = stack.api().get("/loans/L-DEMO-03/promises").json()
    assert [(p["amount"], p["promised_date"], p["status"]) for p in promises] == [
        ("2500.00", "2026-12-04", "open")
    ]
    # A second promise is refused before its amount and day are asked, with a way to pay.
    (held,) = chat.say("我下周一还一千")
    assert "已有一个还款承诺" in held["text"] and "2500.00" in held["text"]
    assert [b["payload"] for b in held["buttons"]] == ["/make_payment"]

    offers = chat.say("我想分期还款")
    done = chat.text(first_offer_payload(offers))
    assert "方案已生效" in done or "审批" in done
    assert stack.api().get("/loans/L-DEMO-03/arrangements").json()

    link = chat.text("给我一个还款链接")
    assert f"{stack.backend}/pay/" in link

    assert "人工" in chat.text("我要转人工")
    waiting = stack.api().get("/handoffs", params={"status": "waiting"}).json()
    assert [h["reason"] for h in waiting if h["user_id"] == "e2e-zh"] == ["borrower_request"]


def test_english_borrower_verifies_by_phone_and_promises_in_words(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-en")
    greeting = chat.say("hi")
    assert greeting and greeting[0].get("buttons")
    ask = chat.text("how much do i owe")
    assert "check it's you" in ask and "mobile number" in ask
    assert "ID number" in chat.text("+65 9876 5432")
    verified = chat.text("456H")
    assert "verified" in verified and "Total owed" in verified  # the first question, answered

    confirm = chat.text("I can pay 1,500 next friday")
    assert "1500.00" in confirm and "2026-12-04" in confirm
    assert "Got it" in chat.text("yes")
    promises = stack.api().get("/loans/L-DEMO-04/promises").json()
    assert [(p["amount"], p["promised_date"]) for p in promises] == [("1500.00", "2026-12-04")]

    offers = chat.say("can i pay in installments")
    done = chat.text(first_offer_payload(offers))
    assert "arrangement is in place" in done or "approval" in done
    assert "/pay/" in chat.text("send me a payment link")
    assert "person" in chat.text("i want to talk to a real person")


def test_a_borrower_on_file_as_chinese_who_writes_english_is_answered_in_english(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-zh-writes-en")
    assert "mobile number" in chat.text("how much do i owe")
    assert "ID number" in chat.text("+86 139 0013 9003")
    verified = chat.text("4321")  # 李强, on file as Chinese
    assert "verified" in verified and "Total owed" in verified
    assert "应还" not in verified


def test_someone_who_is_not_the_borrower_learns_nothing(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-stranger")
    reply = chat.text("wrong number, i don't know who that is")
    assert "won't contact you" in reply
    for figure in ("CNY", "owed", "overdue", "DEMO"):
        assert figure not in reply
    asked = chat.text("how much does he owe")
    assert "check it's you" in asked and "CNY" not in asked


def test_a_promise_below_the_minimum_is_asked_again_once_with_the_minimum(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-reask")
    assert "verified" in chat.text(
        "/verify_token" + json.dumps({"token": stack.link_token("DEMO-06")})
    )
    reask = chat.say("I will pay 10 tomorrow")
    texts = [m.get("text", "") for m in reask]
    assert any("below the smallest amount" in t for t in texts)
    assert sum("at least" in t for t in texts) == 1  # one question, stating the minimum
    confirm = chat.text("2000")
    assert "2000.00" in confirm and "2026-11-30" in confirm
    # Not recorded: DEMO-06's loan stays free of promises for the forms of test_conversations.
    assert "cancelled" in chat.text("no")
    assert stack.api().get("/loans/L-DEMO-06/promises").json() == []


def test_a_promise_made_while_verifying_keeps_its_day_and_a_split_amount_is_whole(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-promise-while-verifying")
    assert "手机号" in chat.text("我欠多少")
    assert "核实身份后" in chat.text("我明天还一千")  # the promise waits for verification
    assert "身份证" in chat.text("13700137005")
    confirm = chat.text("1987-11-20")  # 张伟's date of birth, the second factor
    assert "核实成功" in confirm
    assert "1000.00" in confirm and "2026-11-30" in confirm  # 明天, not 1987-11-20
    assert "已取消" in chat.text("不对")  # nothing recorded: DEMO-05's loan stays as it was
    confirm = chat.text("我下周五还3千5")  # the NLU splits 3千5: taken whole
    assert "3500.00" in confirm and "2026-12-04" in confirm
    assert "已取消" in chat.text("不对")


def test_hardship_told_while_verifying_is_recorded_with_its_words(stack) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(stack, "webchat:e2e-hardship-while-verifying")
    assert "mobile number" in chat.text("how much do i owe")
    assert "mobile number" in chat.text("i lost my job and can't pay this month")
    assert "ID number" in chat.text("+65 9123 4567")
    assert "recorded your situation" in chat.text("345D")  # Emily Chen
    cases = stack.api().get("/cases", params={"kind": "hardship"}).json()
    mine = [c["details"] for c in cases if c.get("user_id") == "e2e-hardship-while-verifying"]
    assert mine == ["i lost my job and can't pay this month"]
