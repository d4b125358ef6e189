"""What a collector does in a chat they have taken, and what the borrower reads: on SQLite and
PostgreSQL.

The test loan L1 on 1 April 2026 (TODAY): 12,000.00 from 15 Jan 2026, nothing paid, 45 days
past due; 2,261.79 is due now and 12,415.33 settles it. A promise may be dated 1 to 15 April and
must be at least 452.36 (20% of the overdue amount). L9 (from 1 Nov 2025) is 121 days past due:
settlements only, the larger discount needing a supervisor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.cases import collector_actions as actions
from backend.cases import collector_plans, handoffs
from backend.cases.models import Handoff, Note
from backend.cases.rules import NOTE_MAX_CHARS
from backend.cases.service import proactive_contact_hold
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.ledger.models import Loan
from backend.outbound.models import OutboundMessage
from backend.payments.provider import SandboxProvider
from backend.plans.policy import PlanPolicy
from backend.policy_files import load_policy
from backend.promises.rules import PromisePolicy
from tests.backend import factories

TODAY = date(2026, 4, 1)
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CONFIG = Path(__file__).resolve().parents[3] / "config"
PROVIDER = SandboxProvider(base_url="http://testserver", secret="test-secret")
PROMISES = PromisePolicy(
    max_days_ahead=14,
    min_share_of_overdue=Decimal("0.2"),
    min_amount={"CNY": Decimal("100")},
    kept_share=Decimal("0.95"),
    grace_days=3,
    broken_in_a_row_to_escalate=2,
)


@pytest.fixture(scope="module")
def plans() -> PlanPolicy:
    return load_policy(CONFIG / "plans.yml", PlanPolicy)


@pytest.fixture
def loan(db: Session) -> Loan:
    return factories.loan(db)


def taken_chat(
    db: Session,
    who: Any,
    *,
    collector: str | None = "alice",
    channel: str = "telegram",
    user_id: str = "42",
) -> Handoff:
    """A chat (bound to `who`, or unverified when None) handed to a person and taken by
    `collector` (left waiting when None)."""
    conversation = factories.conversation(db, who=who, channel=channel, user_id=user_id)
    handoff = factories.handoff(db, conversation=conversation)
    if collector is not None:
        handoffs.take(db, handoff=handoff, collector=collector)
    return handoff


@pytest.fixture
def chat(db: Session, loan: Loan) -> Handoff:
    """Alice has taken the chat of L1's borrower (who writes Chinese)."""
    return taken_chat(db, loan.borrower)


def in_english(handoff: Handoff) -> Handoff:
    borrower = handoff.conversation.borrower
    assert borrower is not None
    borrower.language = "en"
    return handoff


def sent(db: Session, handoff: Handoff) -> list[OutboundMessage]:
    return list(
        db.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.conversation_id == handoff.conversation_id)
            .order_by(OutboundMessage.id)
        )
    )


def link(db: Session, handoff: Handoff, **kw: Any) -> actions.SentLink:
    args: dict[str, Any] = {
        "username": "alice",
        "loan_ref": "L1",
        "amount": None,
        "as_of": TODAY,
        "provider": PROVIDER,
        "ttl": timedelta(hours=24),
        "now": NOW,
    } | kw
    return actions.send_payment_link(db, handoff=handoff, **args)


def promise(db: Session, handoff: Handoff, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "username": "alice",
        "loan_ref": "L1",
        "amount": 50_000,
        "promised_date": date(2026, 4, 10),
        "as_of": TODAY,
        "policy": PROMISES,
    } | kw
    return actions.record_promise(db, handoff=handoff, **args)


def offers(
    db: Session, handoff: Handoff, policy: PlanPolicy, **kw: Any
) -> collector_plans.Presented:
    args: dict[str, Any] = {"username": "alice", "loan_ref": "L1", "as_of": TODAY} | kw
    return collector_plans.present_offers(db, handoff=handoff, policy=policy, **args)


def accept(db: Session, handoff: Handoff, policy: PlanPolicy, offer_id: str, **kw: Any) -> Any:
    args: dict[str, Any] = {"username": "alice", "loan_ref": "L1", "as_of": TODAY} | kw
    return collector_plans.accept_offer(
        db, handoff=handoff, offer_id=offer_id, policy=policy, **args
    )


def case(db: Session, handoff: Handoff, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "username": "alice",
        "kind": "dispute",
        "loan_ref": "L1",
        "details": "says the loan was never paid out",
    } | kw
    return actions.open_case(db, handoff=handoff, **args)


# -- who may act, on which loan ----------------------------------------------------------------

Action = Callable[[Session, Handoff, PlanPolicy, str], object]
EVERY_ACTION: dict[str, Action] = {
    "payment link": lambda db, h, p, user: link(db, h, username=user),
    "offers": lambda db, h, p, user: offers(db, h, p, username=user),
    "accept": lambda db, h, p, user: accept(db, h, p, "any", username=user),
    "promise": lambda db, h, p, user: promise(db, h, username=user),
    "case": lambda db, h, p, user: case(db, h, username=user),
    "note": lambda db, h, p, user: actions.add_note(db, handoff=h, username=user, text="x"),
}


class TestOnlyTheCollectorWhoHasTheChat:
    @pytest.mark.parametrize("action", EVERY_ACTION)
    def test_another_collector_is_refused_and_nothing_is_sent(
        self, db: Session, chat: Handoff, plans: PlanPolicy, action: str
    ) -> None:
        before = len(sent(db, chat))
        with pytest.raises(Conflict) as err:
            EVERY_ACTION[action](db, chat, plans, "bob")
        assert err.value.code == "not_your_handoff"
        assert len(sent(db, chat)) == before

    @pytest.mark.parametrize("action", EVERY_ACTION)
    def test_a_waiting_chat_must_be_taken_first(
        self, db: Session, loan: Loan, plans: PlanPolicy, action: str
    ) -> None:
        waiting = taken_chat(db, loan.borrower, collector=None)
        with pytest.raises(Conflict) as err:
            EVERY_ACTION[action](db, waiting, plans, "alice")
        assert err.value.code == "handoff_waiting"

    @pytest.mark.parametrize("action", EVERY_ACTION)
    def test_a_chat_handed_back_to_the_bot_is_closed_to_everyone(
        self, db: Session, chat: Handoff, plans: PlanPolicy, action: str
    ) -> None:
        handoffs.close(db, handoff=chat, note="done")
        with pytest.raises(Conflict) as err:
            EVERY_ACTION[action](db, chat, plans, "alice")
        assert err.value.code == "handoff_closed"

    def test_holder_check_passes_for_the_holder(self, chat: Handoff) -> None:
        actions.holder_check(chat, username="alice")


class TestOnlyTheBoundBorrowersLoans:
    @pytest.mark.parametrize("action", ["payment link", "offers", "accept", "promise", "case"])
    def test_another_borrowers_loan_is_as_if_it_did_not_exist(
        self, db: Session, chat: Handoff, plans: PlanPolicy, action: str
    ) -> None:
        factories.loan(db, ref="L2", disbursed_on=date(2026, 1, 10))
        before = len(sent(db, chat))
        calls: dict[str, Callable[[], object]] = {
            "payment link": lambda: link(db, chat, loan_ref="L2"),
            "offers": lambda: offers(db, chat, plans, loan_ref="L2"),
            "accept": lambda: accept(db, chat, plans, "any", loan_ref="L2"),
            "promise": lambda: promise(db, chat, loan_ref="L2"),
            "case": lambda: case(db, chat, loan_ref="L2"),
        }
        with pytest.raises(NotFound):
            calls[action]()
        assert len(sent(db, chat)) == before

    def test_an_unknown_loan_is_not_found(self, db: Session, chat: Handoff) -> None:
        with pytest.raises(NotFound):
            actions.bound_loan(db, handoff=chat, loan_ref="NOPE")

    def test_the_bound_borrowers_loan_is_found(
        self, db: Session, chat: Handoff, loan: Loan
    ) -> None:
        assert actions.bound_loan(db, handoff=chat, loan_ref="L1") is loan

    @pytest.mark.parametrize("action", ["payment link", "offers", "accept", "promise", "case"])
    def test_an_unverified_chat_gets_nothing_about_any_loan(
        self, db: Session, loan: Loan, plans: PlanPolicy, action: str
    ) -> None:
        unverified = taken_chat(db, None)
        with pytest.raises(Forbidden) as err:
            EVERY_ACTION[action](db, unverified, plans, "alice")
        assert err.value.code == "verification_required"

    def test_an_unverified_chat_cannot_have_a_case_without_a_loan_either(
        self, db: Session, loan: Loan
    ) -> None:
        unverified = taken_chat(db, None)
        with pytest.raises(Forbidden) as err:
            case(db, unverified, kind="hardship", loan_ref=None)
        assert err.value.code == "verification_required"


# -- payment link -----------------------------------------------------------------------------


class TestPaymentLink:
    def test_what_is_due_now_with_the_link_in_the_text_in_chinese(
        self, db: Session, chat: Handoff
    ) -> None:
        result = link(db, chat)
        assert (result.link.amount_minor, result.link.currency) == (226_179, "CNY")
        assert result.url == f"http://testserver/pay/{result.link.token}"
        message = result.message
        assert message.text == (
            f"这是您的还款链接，金额 2261.79 CNY：\n{result.url}\n"
            "链接将于 2026-04-02 10:00 失效。"  # 24 hours on, in the borrower's Shanghai time
        )
        assert (message.sender, message.author) == ("collector", "alice")
        assert message.buttons is None  # a Telegram button cannot open a link
        assert sent(db, chat)[-1] is message

    def test_the_amount_the_collector_names_in_english(self, db: Session, chat: Handoff) -> None:
        result = link(db, in_english(chat), amount=50_000)
        assert result.link.amount_minor == 50_000
        assert result.message.text == (
            f"Here is your payment link for 500.00 CNY:\n{result.url}\nIt expires 2026-04-02 10:00."
        )

    def test_the_web_chat_also_gets_a_button_that_opens_the_link(
        self, db: Session, loan: Loan
    ) -> None:
        web = in_english(taken_chat(db, loan.borrower, channel="webchat", user_id="w-1"))
        result = link(db, web)
        assert result.message.buttons == [{"title": "Pay now", "payload": result.url}]
        assert result.url in result.message.text

    def test_the_transcript_shows_the_collector_sent_it(self, db: Session, chat: Handoff) -> None:
        result = link(db, chat)
        logged = result.message.message
        assert (logged.sender, logged.author, logged.text) == (
            "collector",
            "alice",
            result.message.text,
        )

    def test_more_than_the_payoff_is_refused_and_nothing_is_sent(
        self, db: Session, chat: Handoff
    ) -> None:
        before = len(sent(db, chat))
        with pytest.raises(Invalid):
            link(db, chat, amount=1_241_534)
        with pytest.raises(Invalid) as err:
            link(db, chat, amount=0)
        assert err.value.code == "invalid_amount"
        assert len(sent(db, chat)) == before


# -- repayment plans --------------------------------------------------------------------------

THREE_MONTHS_ZH = (
    "1. 分3期：共4笔，首笔 1259.73 CNY（2026-04-01 前），之后每月 3779.19 CNY；"
    "手续费 186.17 CNY，共还 12597.30 CNY"
)
THREE_MONTHS_EN = (
    "1. 3-month plan: 4 payments, the first of 1259.73 CNY by 2026-04-01, then 3779.19 CNY "
    "a month; fee 186.17 CNY, 12597.30 CNY in all"
)


@pytest.fixture
def late_120(db: Session) -> Handoff:
    """Alice has the chat of L9's borrower: 121 days past due, settlements only."""
    made = factories.loan(db, ref="L9", disbursed_on=date(2025, 11, 1))
    return taken_chat(db, made.borrower, user_id="99")


class TestPresentingOffers:
    def test_the_offers_are_listed_in_the_order_the_collector_sees_them(
        self, db: Session, chat: Handoff, plans: PlanPolicy
    ) -> None:
        shown = offers(db, chat, plans)
        assert [o.term_months for o in shown.offers] == [3, 6, 12]
        assert shown.message is not None
        lines = shown.message.text.split("\n")
        assert lines[0] == "借款 L1 目前可以办理以下还款方案："
        assert lines[1] == THREE_MONTHS_ZH
        assert lines[2].startswith("2. 分6期：共7笔")
        assert lines[3].startswith("3. 分12期：共13笔")
        assert lines[4] == "您看哪个方案合适？告诉我序号即可。"
        assert (shown.message.sender, shown.message.author) == ("collector", "alice")
        # what the collector reads about the kinds not offered
        assert {r.kind for r in shown.not_offered} == {"extension", "settlement"}

    def test_in_english(self, db: Session, chat: Handoff, plans: PlanPolicy) -> None:
        shown = offers(db, in_english(chat), plans)
        assert shown.message is not None
        lines = shown.message.text.split("\n")
        assert lines[0] == "These are the payment plans available for loan L1:"
        assert lines[1] == THREE_MONTHS_EN
        assert lines[-1] == "Which one suits you? Just tell me its number."

    def test_an_extension_says_what_moves_and_includes_its_fee(
        self, db: Session, plans: PlanPolicy
    ) -> None:
        made = factories.loan(db, ref="L5", disbursed_on=date(2026, 2, 20))  # 12 days late
        chat = in_english(taken_chat(db, made.borrower, user_id="55"))
        shown = offers(db, chat, plans, loan_ref="L5")
        extension = next(o for o in shown.offers if o.kind == "extension")
        n = shown.offers.index(extension) + 1
        first = extension.rows[0]
        assert shown.message is not None
        assert (
            f"{n}. 1-month extension: the payments still owed ({len(extension.rows)}) move "
            "later, the first of "
            f"{Decimal(first.amount) / 100:.2f} CNY by {first.due_date} (including the "
            f"{Decimal(extension.fee) / 100:.2f} CNY fee); "
            f"{Decimal(extension.total) / 100:.2f} CNY in all"
        ) in shown.message.text

    def test_settlements_say_what_is_waived_and_which_need_a_supervisor(
        self, db: Session, late_120: Handoff, plans: PlanPolicy
    ) -> None:
        shown = offers(db, late_120, plans, loan_ref="L9")
        assert shown.message is not None
        # Nothing paid in months: the smallest payments first, and the borrower is told why.
        assert shown.message.text.split("\n")[1:6] == [
            "1. 减免结清：共还 9632.78 CNY（减免 3210.93 CNY），分2笔还清，"
            "首笔 4816.39 CNY（2026-04-08 前）（需主管审批）",
            "2. 减免结清：共还 11559.34 CNY（减免 1284.37 CNY），分2笔还清，"
            "首笔 5779.67 CNY（2026-04-08 前）",
            "3. 减免结清：共还 9632.78 CNY（减免 3210.93 CNY），请于 2026-04-08 前一次还清"
            "（需主管审批）",
            "4. 减免结清：共还 11559.34 CNY（减免 1284.37 CNY），请于 2026-04-08 前一次还清",
            "第1个方案排在最前：它每期金额最小（最多 4816.39 CNY）。",
        ]

    def test_settlements_in_english(
        self, db: Session, late_120: Handoff, plans: PlanPolicy
    ) -> None:
        shown = offers(db, in_english(late_120), plans, loan_ref="L9")
        assert shown.message is not None
        assert shown.message.text.split("\n")[2] == (
            "2. Settle for 11559.34 CNY (1284.37 CNY off) in 2 payments, the first of "
            "5779.67 CNY by 2026-04-08"
        )
        assert shown.message.text.split("\n")[3] == (
            "3. Settle for 9632.78 CNY (3210.93 CNY off), paid in one go by 2026-04-08 "
            "(needs a supervisor's approval)"
        )
        assert shown.message.text.split("\n")[5] == (
            "Option 1 comes first: it has the smallest payments (at most 4816.39 CNY)."
        )

    def test_no_offers_sends_nothing_and_gives_the_reasons(
        self, db: Session, chat: Handoff, plans: PlanPolicy
    ) -> None:
        first = offers(db, chat, plans).offers[0]
        accept(db, chat, plans, first.id)
        before = len(sent(db, chat))
        shown = offers(db, chat, plans)
        assert (shown.offers, shown.message) == ([], None)
        assert "already on an arrangement" in shown.not_offered[0].reason
        assert len(sent(db, chat)) == before


class TestAcceptingAnOffer:
    def test_the_arrangement_starts_and_the_borrower_is_told_the_first_payment(
        self, db: Session, chat: Handoff, plans: PlanPolicy
    ) -> None:
        plan = offers(db, chat, plans).offers[0]
        accepted = accept(db, chat, plans, plan.id)
        arrangement = accepted.arrangement
        assert accepted.approval is None
        assert (arrangement.kind, arrangement.agreed_by, arrangement.conversation_id) == (
            "installment",
            "collector:alice",
            chat.conversation_id,
        )
        told = sent(db, chat)[-1]
        assert told.text == (
            "您借款 L1 的分期还款方案已生效，共还 12597.30 CNY。第一笔 1259.73 CNY，"
            "请于 2026-04-01 前还款。需要还款链接可以随时告诉我们。"
        )
        assert (told.sender, told.author) == ("collector", "alice")

    def test_in_english(self, db: Session, chat: Handoff, plans: PlanPolicy) -> None:
        plan = offers(db, in_english(chat), plans).offers[0]
        accept(db, chat, plans, plan.id)
        assert sent(db, chat)[-1].text == (
            "Your payment plan for loan L1 is in place: 12597.30 CNY in all. The first payment "
            "of 1259.73 CNY is due by 2026-04-01. Just ask if you'd like a payment link."
        )

    def test_a_settlement_beyond_the_assistants_authority_goes_to_a_supervisor(
        self, db: Session, late_120: Handoff, plans: PlanPolicy
    ) -> None:
        bigger = next(
            o
            for o in offers(db, in_english(late_120), plans, loan_ref="L9").offers
            if o.needs_approval and o.parts == 1
        )
        accepted = accept(db, late_120, plans, bigger.id, loan_ref="L9")
        assert accepted.arrangement is None
        approval = accepted.approval
        assert (approval.status, approval.requested_by, approval.conversation_id) == (
            "pending",
            "collector:alice",
            late_120.conversation_id,
        )
        assert sent(db, late_120)[-1].text == (
            "Your settlement for loan L9 (9632.78 CNY in all) needs a supervisor's approval, so "
            "we've sent it to one. We'll tell you here as soon as it's decided."
        )

    def test_a_settlement_sent_for_approval_in_chinese(
        self, db: Session, late_120: Handoff, plans: PlanPolicy
    ) -> None:
        bigger = next(
            o for o in offers(db, late_120, plans, loan_ref="L9").offers if o.needs_approval
        )
        accept(db, late_120, plans, bigger.id, loan_ref="L9")
        assert sent(db, late_120)[-1].text == (
            "您借款 L9 的减免结清方案（共还 9632.78 CNY）需要主管审批，已为您提交。"
            "审批结果出来后会在这里通知您。"
        )

    def test_an_offer_no_longer_valid_is_refused_and_nothing_is_sent(
        self, db: Session, chat: Handoff, plans: PlanPolicy
    ) -> None:
        before = len(sent(db, chat))
        with pytest.raises(Conflict) as err:
            accept(db, chat, plans, "made-up")
        assert err.value.code == "offer_no_longer_valid"
        assert len(sent(db, chat)) == before


# -- promise to pay ---------------------------------------------------------------------------


class TestRecordingAPromise:
    def test_the_promise_is_the_collectors_and_confirmed_in_writing(
        self, db: Session, chat: Handoff
    ) -> None:
        made = promise(db, chat)
        assert (made.amount_minor, made.promised_date, made.status) == (
            50_000,
            date(2026, 4, 10),
            "open",
        )
        assert (made.source, made.recorded_by, made.conversation_id) == (
            "collector",
            "alice",
            chat.conversation_id,
        )
        told = sent(db, chat)[-1]
        assert told.text == (
            "已为您记录还款承诺：借款 L1，2026-04-10 前还款 500.00 CNY。谢谢您！"
            "需要还款链接可以随时告诉我们。"
        )
        assert (told.sender, told.author) == ("collector", "alice")

    def test_in_english(self, db: Session, chat: Handoff) -> None:
        promise(db, in_english(chat), amount=45_236, promised_date=date(2026, 4, 15))
        assert sent(db, chat)[-1].text == (
            "We've noted your promise to pay 452.36 CNY on loan L1 by 2026-04-15. Thank you! "
            "Just ask if you'd like a payment link."
        )

    @pytest.mark.parametrize(
        ("amount", "on", "code"),
        [
            (50_000, date(2026, 4, 16), "promise_beyond_window"),
            (50_000, date(2026, 3, 31), "promise_date_in_past"),
            (45_235, date(2026, 4, 10), "promise_below_minimum"),
            (1_241_534, date(2026, 4, 10), "promise_above_balance"),
        ],
    )
    def test_a_promise_outside_policy_is_refused_with_the_policys_code(
        self, db: Session, chat: Handoff, amount: int, on: date, code: str
    ) -> None:
        before = len(sent(db, chat))
        with pytest.raises(Invalid) as err:
            promise(db, chat, amount=amount, promised_date=on)
        assert err.value.code == code
        assert len(sent(db, chat)) == before

    def test_a_second_open_promise_on_the_loan_is_refused(self, db: Session, chat: Handoff) -> None:
        promise(db, chat)
        with pytest.raises(Conflict) as err:
            promise(db, chat, promised_date=date(2026, 4, 12))
        assert err.value.code == "promise_already_open"


# -- cases ------------------------------------------------------------------------------------


class TestOpeningACase:
    def test_a_dispute_pauses_collection_on_its_loan_and_is_noted_as_the_collectors(
        self, db: Session, chat: Handoff, loan: Loan
    ) -> None:
        filed = case(db, chat)
        assert (filed.kind, filed.status, filed.loan_id, filed.borrower_id) == (
            "dispute",
            "open",
            loan.id,
            loan.borrower_id,
        )
        assert filed.conversation_id == chat.conversation_id
        assert filed.details == "says the loan was never paid out"
        assert f"alice: opened in a chat (handoff {chat.id})" in filed.notes
        handoffs.close(db, handoff=chat, note="")  # the live handoff held contact too
        hold = proactive_contact_hold(
            db, borrower_id=loan.borrower_id, channel="telegram", loan_id=loan.id
        )
        assert hold == "dispute"
        told = sent(db, chat)[-2]  # before the "back to the assistant" message
        assert told.text == (
            f"已为您登记异议（编号 {filed.id}）。核实期间，我们会暂停对借款 L1 的催收联系。"
        )
        assert (told.sender, told.author) == ("collector", "alice")

    def test_a_dispute_in_english(self, db: Session, chat: Handoff) -> None:
        filed = case(db, in_english(chat))
        assert sent(db, chat)[-1].text == (
            f"We've recorded your dispute (reference {filed.id}). While it's reviewed, we'll "
            "pause collection contact about loan L1."
        )

    def test_a_hardship_hold_on_all_loans_tells_the_borrower_contact_stops(
        self, db: Session, chat: Handoff, loan: Loan
    ) -> None:
        filed = case(db, in_english(chat), kind="hardship", loan_ref=None, hold=True)
        assert (filed.kind, filed.hold, filed.loan_id) == ("hardship", True, None)
        assert sent(db, chat)[-1].text == (
            f"We've recorded your situation (reference {filed.id}). While our team follows up, "
            "we won't contact you about all your loans."
        )
        handoffs.close(db, handoff=chat, note="")
        hold = proactive_contact_hold(
            db, borrower_id=loan.borrower_id, channel="telegram", loan_id=loan.id
        )
        assert hold == "hardship_hold"

    def test_a_hardship_hold_on_one_loan_in_chinese(self, db: Session, chat: Handoff) -> None:
        filed = case(db, chat, kind="hardship", hold=True)
        assert sent(db, chat)[-1].text == (
            f"已为您登记困难情况（编号 {filed.id}）。跟进期间，我们会暂停就借款 L1 主动联系您。"
        )

    def test_a_hardship_without_a_hold_promises_follow_up_only(
        self, db: Session, chat: Handoff
    ) -> None:
        filed = case(db, chat, kind="hardship")
        assert sent(db, chat)[-1].text == (
            f"已为您登记困难情况（编号 {filed.id}），工作人员会跟进处理。"
        )
        in_english(chat)
        again = case(db, chat, kind="hardship", loan_ref=None)
        assert sent(db, chat)[-1].text == (
            f"We've recorded your situation (reference {again.id}), and our team will follow up."
        )

    @pytest.mark.parametrize(
        ("kind", "hold", "code"),
        [
            ("complaint", False, "unknown_kind"),
            ("opt_out", False, "unknown_kind"),
            ("nonsense", False, "unknown_kind"),
            ("dispute", True, "hold_not_applicable"),
        ],
    )
    def test_other_kinds_and_a_hold_on_a_dispute_are_refused(
        self, db: Session, chat: Handoff, kind: str, hold: bool, code: str
    ) -> None:
        before = len(sent(db, chat))
        with pytest.raises(Invalid) as err:
            case(db, chat, kind=kind, hold=hold)
        assert err.value.code == code
        assert len(sent(db, chat)) == before


# -- notes ------------------------------------------------------------------------------------


class TestNotes:
    def test_a_note_is_kept_on_the_borrower_and_the_chat_and_not_sent(
        self, db: Session, chat: Handoff, loan: Loan
    ) -> None:
        before = len(sent(db, chat))
        note = actions.add_note(
            db, handoff=chat, username="alice", text="  Paid cash at a branch; check.\n"
        )
        assert (note.borrower_id, note.conversation_id, note.handoff_id, note.author) == (
            loan.borrower_id,
            chat.conversation_id,
            chat.id,
            "alice",
        )
        assert note.text == "Paid cash at a branch; check."
        assert note.created_at is not None
        assert db.scalar(select(func.count()).select_from(Note)) == 1
        assert len(sent(db, chat)) == before

    def test_an_unverified_chat_keeps_its_notes_on_the_chat(self, db: Session, loan: Loan) -> None:
        unverified = taken_chat(db, None)
        note = actions.add_note(db, handoff=unverified, username="alice", text="won't say who")
        assert (note.borrower_id, note.conversation_id) == (None, unverified.conversation_id)

    @pytest.mark.parametrize("text", ["", "   ", "\n\t "])
    def test_a_blank_note_is_refused(self, db: Session, chat: Handoff, text: str) -> None:
        with pytest.raises(Invalid) as err:
            actions.add_note(db, handoff=chat, username="alice", text=text)
        assert err.value.code == "empty_note"

    def test_a_note_may_be_2000_characters_and_no_more(self, db: Session, chat: Handoff) -> None:
        longest = "字" * NOTE_MAX_CHARS
        assert NOTE_MAX_CHARS == 2000
        kept = actions.add_note(db, handoff=chat, username="alice", text=f" {longest} ")
        assert kept.text == longest
        with pytest.raises(Invalid) as err:
            actions.add_note(db, handoff=chat, username="alice", text=longest + "!")
        assert err.value.code == "note_too_long"


# -- passing the chat on ----------------------------------------------------------------------


class TestTransfer:
    def test_the_holder_passes_the_chat_and_the_borrower_is_told_who_joined(
        self, db: Session, chat: Handoff
    ) -> None:
        bob = factories.staff_user(db, "bob", display_name="Bob Li")
        taken_at = chat.taken_at
        moved = actions.transfer(db, handoff=chat, by="alice", to=bob, by_supervisor=False)
        assert (moved.status, moved.taken_by, moved.taken_at) == ("taken", "bob", taken_at)
        told = sent(db, chat)[-1]
        assert (told.text, told.sender) == ("客服Bob Li已接入，请问有什么可以帮您？", "system")
        with pytest.raises(Conflict) as err:
            actions.holder_check(chat, username="alice")
        assert err.value.code == "not_your_handoff"
        actions.holder_check(chat, username="bob")  # Bob may act now
        actions.add_note(db, handoff=chat, username="bob", text="took over from alice")

    def test_the_borrower_is_told_in_their_language(self, db: Session, chat: Handoff) -> None:
        bob = factories.staff_user(db, "bob", display_name="Bob Li")
        actions.transfer(db, handoff=in_english(chat), by="alice", to=bob, by_supervisor=False)
        assert sent(db, chat)[-1].text == "A colleague, Bob Li, has joined the chat."

    def test_a_supervisor_assigns_a_waiting_chat(self, db: Session, loan: Loan) -> None:
        waiting = taken_chat(db, loan.borrower, collector=None)
        bob = factories.staff_user(db, "bob")
        actions.transfer(db, handoff=waiting, by="sue", to=bob, by_supervisor=True)
        assert (waiting.status, waiting.taken_by) == ("taken", "bob")
        assert waiting.taken_at is not None

    def test_a_supervisor_moves_a_chat_another_collector_has(
        self, db: Session, chat: Handoff
    ) -> None:
        sue = factories.staff_user(db, "sue", role="supervisor")
        actions.transfer(db, handoff=chat, by="sue", to=sue, by_supervisor=True)
        assert chat.taken_by == "sue"

    def test_someone_who_does_not_hold_the_chat_cannot_pass_it(
        self, db: Session, chat: Handoff, loan: Loan
    ) -> None:
        bob = factories.staff_user(db, "bob")
        carol = factories.staff_user(db, "carol")
        with pytest.raises(Conflict) as err:
            actions.transfer(db, handoff=chat, by="bob", to=carol, by_supervisor=False)
        assert err.value.code == "not_your_handoff"
        waiting = taken_chat(db, loan.borrower, collector=None, user_id="43")
        with pytest.raises(Conflict) as err:
            actions.transfer(db, handoff=waiting, by="alice", to=bob, by_supervisor=False)
        assert err.value.code == "handoff_waiting"
        assert chat.taken_by == "alice" and waiting.status == "waiting"

    def test_a_closed_chat_cannot_be_passed_even_by_a_supervisor(
        self, db: Session, chat: Handoff
    ) -> None:
        bob = factories.staff_user(db, "bob")
        handoffs.close(db, handoff=chat, note="")
        with pytest.raises(Conflict) as err:
            actions.transfer(db, handoff=chat, by="sue", to=bob, by_supervisor=True)
        assert err.value.code == "handoff_closed"

    @pytest.mark.parametrize("by_supervisor", [False, True])
    def test_passing_it_to_the_person_who_has_it_is_refused(
        self, db: Session, chat: Handoff, by_supervisor: bool
    ) -> None:
        alice = factories.staff_user(db, "alice")
        with pytest.raises(Invalid) as err:
            actions.transfer(db, handoff=chat, by="alice", to=alice, by_supervisor=by_supervisor)
        assert err.value.code == "same_collector"

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"active": False}, "user_inactive"),
            ({"role": "operations"}, "cannot_work_chats"),
        ],
    )
    def test_only_an_active_user_who_works_chats_can_receive_it(
        self, db: Session, chat: Handoff, overrides: dict[str, Any], code: str
    ) -> None:
        before = len(sent(db, chat))
        olga = factories.staff_user(db, "olga", **overrides)
        with pytest.raises(Invalid) as err:
            actions.transfer(db, handoff=chat, by="alice", to=olga, by_supervisor=False)
        assert err.value.code == code
        assert (chat.taken_by, len(sent(db, chat))) == ("alice", before)

    def test_admins_and_supervisors_work_chats_too(self, db: Session, chat: Handoff) -> None:
        admin = factories.staff_user(db, "ada", role="admin")
        actions.transfer(db, handoff=chat, by="alice", to=admin, by_supervisor=False)
        assert chat.taken_by == "ada"
