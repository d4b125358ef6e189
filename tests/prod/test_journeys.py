"""Borrower journeys on `make run-prod`'s topology, through nginx only, on PostgreSQL: a plan,
a payment link paid through the lender's hosted checkout (its signed webhook), a collector
serving a web chat in the console and handing it back (live pushes across two gateways), the
same on Telegram through the fake Bot API's webhook, and two reminder workers sending a due
reminder once."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from bench.topology import CHECKOUT_URL, Topology
from tests.browser import browser, screenshot  # noqa: F401  (the session's Chromium)
from tests.e2e.conftest import eventually
from tests.e2e.telegram_user import TelegramUser
from tests.e2e.webchat_client import WebBorrower
from tests.prod.console import contexts, log_in  # noqa: F401  (fixture)

COLLECTOR = ("collector-wu", "a-long-collector-password-for-tests-4Hz")


def balance(top: Topology, ref: str) -> dict[str, str]:
    return dict(json.loads(top.backend_cli("balance", f"L-{ref}")))


@pytest.fixture(scope="module")
def overdue(chinese_overdue: list[str]) -> Iterator[str]:
    """A borrower of their own for each journey (test_topology.py's takes the first)."""
    assert len(chinese_overdue) > 4, chinese_overdue
    return iter(chinese_overdue[1:])


def api(top: Topology) -> httpx.Client:
    """The backend's API through nginx, as the lender's other services call it."""
    token = top.backend_env["SERVICE_TOKEN"]
    return httpx.Client(
        base_url=f"{top.http}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_a_plan_then_a_payment_through_the_hosted_checkout_and_its_signed_webhook(
    topology: Topology, overdue: Iterator[str]
) -> None:
    ref = next(overdue)
    chat = WebBorrower(topology.web)
    assert "核实成功" in chat.text(f"/start {topology.backend_cli('link-token', ref)}")

    offers = chat.say("我想分期还款")
    choose = next(
        (b["payload"] for m in offers for b in m.get("buttons") or []
         if b["payload"].startswith("/choose_offer")),
        None,
    )  # fmt: skip
    assert choose, offers
    done = chat.text(choose)
    assert "方案已生效" in done or "审批" in done, done

    before = balance(topology, ref)
    reply = chat.text("给我一个还款链接")
    prefix = CHECKOUT_URL.split("{token}")[0]
    found = re.search(re.escape(prefix) + r"([A-Za-z0-9_-]+)", reply)
    assert found, reply
    token = found.group(1)

    # The lender's checkout page looks the link up, then its payment service posts the money.
    with api(topology) as backend:
        link = backend.get(f"/payment-links/{token}").json()
        assert (link["loan_ref"], link["status"]) == (f"L-{ref}", "open")
        body = json.dumps(
            {
                "link": token,
                "reference": f"psp-{uuid.uuid4().hex}",
                "amount_minor": link["amount_minor"],
                "currency": link["currency"],
            }
        ).encode()
        signature = hmac.new(topology.payment_secret.encode(), body, hashlib.sha256).hexdigest()
        webhook = "/payments/webhooks/hosted"
        forged = backend.post(webhook, content=body, headers={"X-Signature": "0" * 64})
        assert (forged.status_code, forged.json()["code"]) == (422, "bad_signature")
        for _ in range(2):  # the provider retries: the money is posted once
            posted = backend.post(webhook, content=body, headers={"X-Signature": signature})
            assert posted.status_code < 300, posted.text
        assert backend.get(f"/payment-links/{token}").json()["status"] == "paid"

    after = balance(topology, ref)
    paid = Decimal(before["total_outstanding"]) - Decimal(after["total_outstanding"])
    assert paid == Decimal(link["amount"]), (before, after, link)
    assert after["total_outstanding"] in chat.text("我现在还欠多少钱")


def test_a_collector_serves_a_web_chat_in_the_console_and_hands_it_back(
    topology: Topology,
    overdue: Iterator[str],
    browser: Browser,  # noqa: F811
    contexts: list[BrowserContext],  # noqa: F811
) -> None:
    ref = next(overdue)
    page = log_in(topology, browser, contexts, COLLECTOR, "collector")
    expect(page).to_have_url(re.compile("/console/inbox$"))

    # The page's live stream is held by one gateway; the collector's words may be sent by the
    # other: they meet on Redis.
    chat = WebBorrower(topology.web)
    chat.open_page()
    assert "核实成功" in chat.text(f"/start {topology.backend_cli('link-token', ref)}")
    assert "人工" in chat.text("我要找人工客服")
    row = page.locator("tr", has_text=ref).first
    expect(row).to_be_visible()
    row.get_by_role("button", name="Take").click()
    expect(page).to_have_url(re.compile(r"/console/handoffs/\d+\?done=taken$"))
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("我要找人工客服")

    page.get_by_placeholder("Reply to the borrower").fill(
        "您好，我是客服小吴，请问有什么可以帮您？"
    )
    page.get_by_role("button", name="Send", exact=True).click()
    eventually(
        lambda: any(p["text"].startswith("您好，我是客服小吴") for p in chat.pushed),
        seconds=60,
        what="the collector's reply pushed to the borrower's page",
    )
    assert chat.say("我下个月发工资就还") == []  # a person has the chat: no bot reply
    expect(transcript).to_contain_text("我下个月发工资就还")
    screenshot(page, "prod-console-chat")

    page.get_by_label("Closing note").fill("will pay after payday")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("the bot has the chat again")
    eventually(
        lambda: any(p.get("from") == "system" and "智能助手" in p["text"] for p in chat.pushed),
        seconds=60,
        what="the hand-back notice",
    )
    assert "应还总额" in chat.text("我现在还欠多少钱")  # the bot answers again


def texts(messages: list[dict[str, object]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


def promise(user: TelegramUser, day: str, above_the_least: Decimal = Decimal(0)) -> None:
    """A promise to pay on `day`, of the least the bot asks for and `above_the_least` more."""
    ask = user.say("约定还款日")
    least = re.search(r"至少 ([\d.]+) [A-Z]{3}", ask)
    assert least, ask
    assert "哪天还" in user.say(f"{Decimal(least.group(1)) + above_the_least:.2f}")
    assert "对吗" in user.say(day)
    assert "已记录" in user.say("是的")


def test_a_telegram_borrower_through_the_webhook_promises_and_reaches_a_person_and_back(
    topology: Topology, overdue: Iterator[str]
) -> None:
    fake = topology.telegram
    assert fake is not None
    ref = next(overdue)
    user = TelegramUser(fake.url, fake.token, 7301)
    token = topology.backend_cli("link-token", ref)
    linked = texts(user.replies_to(lambda: user.command(f"/start {token}")))
    assert "核实成功" in linked
    assert "应还总额" in user.say("我现在还欠多少钱")

    promise(user, "下周五", above_the_least=Decimal(50))
    with api(topology) as backend:
        promises = backend.get(f"/loans/L-{ref}/promises").json()
        assert [p["status"] for p in promises] == ["open"]

        assert "人工" in texts(user.replies_to(lambda: user.command("/human")))
        assert user.replies_to(lambda: user.send("请问多久有人回复？"), expect=0) == []
        waiting = backend.get("/handoffs", params={"status": "waiting"}).json()
        handoff = next(h for h in waiting if h["user_id"] == str(user.user_id))
        joined = user.replies_to(
            lambda: backend.post(f"/handoffs/{handoff['id']}/take", json={"collector": "li.na"})
        )
        assert "li.na" in texts(joined)
        words = "您好，我是客服李娜，已看到您的还款承诺。"
        reply = user.replies_to(
            lambda: backend.post(
                f"/handoffs/{handoff['id']}/reply", json={"collector": "li.na", "text": words}
            )
        )
        assert texts(reply) == words
        back = user.replies_to(
            lambda: backend.post(f"/handoffs/{handoff['id']}/close", json={"note": "PTP"})
        )
        assert "智能助手" in texts(back)
    assert "应还总额" in user.say("我现在还欠多少钱")


def afternoon_zone() -> str:
    """A time zone where it is the business day (UTC here, conftest.py) and about 13:00 now,
    inside every contact window (Etc/GMT+N is N hours behind UTC)."""
    now = datetime.now(UTC)

    def distance(hours: int) -> tuple[bool, int]:
        local = now + timedelta(hours=hours)
        return local.date() != now.date(), abs(local.hour - 13)

    offset = min(range(-12, 15), key=distance)
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"


def test_two_reminder_workers_send_a_due_reminder_once(
    topology: Topology, overdue: Iterator[str]
) -> None:
    fake = topology.telegram
    assert fake is not None
    ref = next(overdue)
    user = TelegramUser(fake.url, fake.token, 7302)
    token = topology.backend_cli("link-token", ref)
    assert "核实成功" in texts(user.replies_to(lambda: user.command(f"/start {token}")))
    # A promise for tomorrow: the day-before reminder (config/outreach.yml) is due today.
    promise(user, "明天")
    # The borrower lives where it is afternoon now, whenever this runs.
    db = topology.postgres
    db.sql(
        f"UPDATE borrowers SET timezone = '{afternoon_zone()}' FROM loans "
        f"WHERE loans.borrower_id = borrowers.id AND loans.ref = 'L-{ref}'",
        database="lender",
    )
    seen = len(user.bot_messages())
    # Operations plan now instead of waiting for the morning; both workers then try to send.
    topology.backend_cli("outreach", "plan")

    def sent() -> list[str]:
        rows = db.sql(
            "SELECT reminders.id || ' ' || reminders.step_id FROM reminders "
            "JOIN loans ON loans.id = reminders.loan_id "
            f"WHERE loans.ref = 'L-{ref}' AND reminders.status = 'sent' ORDER BY reminders.id",
            database="lender",
        )
        return rows.splitlines() if rows else []

    def delivered() -> list[dict[str, object]]:
        return [m for m in user.bot_messages()[seen:] if f"L-{ref}" in str(m["text"])]

    eventually(sent, seconds=240, what="the workers send the reminder")
    time.sleep(75)  # another dispatch round of each worker: nothing goes out twice
    reminders = sent()
    assert any(row.endswith(" promise_due_1") for row in reminders), reminders
    eventually(lambda: len(delivered()) >= len(reminders), seconds=60, what="on Telegram")
    assert len(delivered()) == len(reminders), delivered()
