"""What the borrower owes, when, what they paid, and why: from the backend, never from memory."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml
from rasa_sdk.events import SlotSet

from actions.common import BorrowerAction, Events, current_loan
from actions.messages import buttons, plan_kind, say

CONFIG = Path(__file__).resolve().parent.parent / "config" / "assistant.yml"


class ActionCheckBalance(BorrowerAction):
    def name(self) -> str:
        return "action_check_balance"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan = await current_loan(client, channel, user_id, tracker)
        if loan is None:
            dispatcher.utter_message(text=say(lang, "no_loans"))
            return []
        cur = loan.currency
        lines = [
            say(
                lang,
                "balance",
                loan=loan.loan_ref,
                as_of=loan.as_of,
                total=loan.total_outstanding,
                cur=cur,
                principal=loan.principal_outstanding,
                interest=loan.interest_outstanding,
                fees=loan.fees_outstanding,
                penalty=loan.penalty_outstanding,
                payoff=loan.payoff_amount,
            )
        ]
        if loan.dpd > 0:
            lines.append(say(lang, "overdue", overdue=loan.overdue_amount, cur=cur, dpd=loan.dpd))
        if loan.arrangement:
            lines.append(say(lang, "on_plan", kind=plan_kind(lang, loan.arrangement)))
        if loan.next_due_date:
            lines.append(
                say(lang, "next_due", date=loan.next_due_date, amount=loan.next_due_amount, cur=cur)
            )
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=buttons(lang, "/make_payment", "/request_installment", "/promise_to_pay"),
        )
        return [SlotSet("loan_ref", loan.loan_ref)]


class ActionCheckDueDate(BorrowerAction):
    def name(self) -> str:
        return "action_check_due_date"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan = await current_loan(client, channel, user_id, tracker)
        if loan is None or not loan.next_due_date:
            dispatcher.utter_message(text=say(lang, "nothing_due"))
            return []
        lines = []
        if loan.dpd > 0:
            lines.append(  # alone, not after a total: no "Of this"
                say(
                    lang,
                    "overdue_now",
                    overdue=loan.overdue_amount,
                    cur=loan.currency,
                    dpd=loan.dpd,
                )
            )
        lines.append(
            say(
                lang,
                "next_due",
                date=loan.next_due_date,
                amount=loan.next_due_amount,
                cur=loan.currency,
            )
        )
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons(lang, "/make_payment"))
        return [SlotSet("loan_ref", loan.loan_ref)]


class ActionPaymentHistory(BorrowerAction):
    def name(self) -> str:
        return "action_payment_history"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan = await current_loan(client, channel, user_id, tracker)
        if loan is None:
            dispatcher.utter_message(text=say(lang, "no_loans"))
            return []
        paid = await client.payments(channel, user_id, loan.loan_ref)
        if not paid:
            dispatcher.utter_message(text=say(lang, "no_history"))
            return [SlotSet("loan_ref", loan.loan_ref)]
        lines = [say(lang, "history_head")] + [
            say(lang, "history_line", date=p.received_on, amount=p.amount, cur=p.currency)
            for p in paid[:5]
        ]
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("loan_ref", loan.loan_ref)]


class ActionExplainFees(BorrowerAction):
    def name(self) -> str:
        return "action_explain_fees"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        summary = await current_loan(client, channel, user_id, tracker)
        if summary is None:
            dispatcher.utter_message(text=say(lang, "no_loans"))
            return []
        loan = await client.loan(channel, user_id, summary.loan_ref)
        rate = Decimal(str(loan.annual_rate)) * 100
        late_fee = Decimal(str(loan.late_fee))
        dispatcher.utter_message(
            text=say(
                lang,
                "fees",
                loan=loan.ref,
                rate=_pct(rate),
                monthly=_pct(rate / 12),
                grace=loan.grace_days,
                penalty=_pct(Decimal(str(loan.penalty_daily_rate)) * 100),
                late_fee_zh=f"，每期逾期另收滞纳金 {loan.late_fee} {loan.currency}"
                if late_fee
                else "",
                late_fee_en=f", plus a late fee of {loan.late_fee} {loan.currency}"
                " per missed installment"
                if late_fee
                else "",
                fees=summary.fees_outstanding,
                penalty_amount=summary.penalty_outstanding,
                cur=loan.currency,
            )
        )
        return [SlotSet("loan_ref", loan.ref)]


class ActionExplainConsequences(BorrowerAction):
    """Plain facts from config/assistant.yml: compliance owns the words."""

    def name(self) -> str:
        return "action_explain_consequences"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        text = assistant_texts()["consequences"][lang]
        if tracker.active_loop.get("name"):  # asked inside a form, which asks its question next
            dispatcher.utter_message(text=text)
            return []
        dispatcher.utter_message(
            text=text, buttons=buttons(lang, "/request_installment", "/request_human")
        )
        return []


def assistant_texts() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def _pct(value: Decimal) -> str:
    return (
        f"{value.normalize():f}"
        if value == value.to_integral()
        else f"{value.quantize(Decimal('0.001')).normalize():f}"
    )
