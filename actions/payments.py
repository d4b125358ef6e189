"""A payment link for what is due now, or for the amount the borrower names."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions import backend as api
from actions.common import BorrowerAction, Events, current_loan
from actions.messages import buttons, say, why
from actions.normalise import parse_amount


class ActionPaymentLink(BorrowerAction):
    def name(self) -> str:
        return "action_payment_link"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan = await current_loan(client, channel, user_id, tracker)
        if loan is None:
            dispatcher.utter_message(text=say(lang, "no_loans"))
            return []
        named = parse_amount(tracker.get_slot("amount") or "")
        try:
            link = await client.payment_link(channel, user_id, loan.loan_ref, named)
        except api.VerificationRequired:  # not about the amount: verify first, as any action
            raise
        except api.Refused as refused:  # e.g. more than the payoff: the default amount instead
            if refused.code == "nothing_to_pay":
                dispatcher.utter_message(text=why(lang, "link_refused", refused.code))
                return [SlotSet("loan_ref", loan.loan_ref), SlotSet("amount", None)]
            if refused.code == "payment_links_unavailable":  # no provider: no link for any amount
                dispatcher.utter_message(
                    text=why(lang, "link_refused", refused.code),
                    buttons=buttons(lang, "/request_human"),
                )
                return [SlotSet("loan_ref", loan.loan_ref), SlotSet("amount", None)]
            if named is None:
                raise
            dispatcher.utter_message(text=why(lang, "link_refused", refused.code, refused.params))
            link = await client.payment_link(channel, user_id, loan.loan_ref, None)
        dispatcher.utter_message(
            text=say(
                lang,
                "payment_link",
                amount=link.amount,
                cur=link.currency,
                url=link.url,
                expires=str(link.expires_at)[:16].replace("T", " "),
            )
        )
        return [SlotSet("loan_ref", loan.loan_ref), SlotSet("amount", None)]
