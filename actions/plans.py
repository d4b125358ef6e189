"""Repayment plans: the backend's offers as choices with their schedule and cost; accepting
one; settlements beyond the assistant's authority go to a supervisor and the borrower is told."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk.events import SlotSet

from actions import backend as api
from actions.common import BorrowerAction, Events, current_loan, request_intent, request_text
from actions.messages import buttons, say, why
from actions.normalise import term_asked

KIND_OF_INTENT = {
    "request_installment": "installment",
    "request_extension": "extension",
    "request_settlement": "settlement",
}
MAX_SHOWN = 4


def describe(lang: str, n: int, offer: Any, cur: str) -> str:
    rows = offer.installments
    if offer.kind == "installment":
        has_down = len(rows) > (offer.term_months or 0)
        monthly = rows[1].amount if has_down else rows[0].amount
        key = "offer_installment" if has_down else "offer_installment_nodown"
        return say(
            lang,
            key,
            n=n,
            term=offer.term_months,
            down=rows[0].amount,
            monthly=monthly,
            fee=offer.fee,
            total=offer.total,
            cur=cur,
        )
    if offer.kind == "extension":
        return say(
            lang,
            "offer_extension",
            n=n,
            months=offer.months,
            first=rows[0].due_date,
            fee=offer.fee,
            cur=cur,
        )
    parts = offer.parts or 1
    return say(
        lang,
        "offer_settlement",
        n=n,
        total=offer.total,
        discount=offer.discount,
        cur=cur,
        first=rows[0].due_date,
        parts_zh=f"分{parts}笔，" if parts > 1 else "",
        parts_en=f" in {parts} parts" if parts > 1 else "",
        approval_zh="（需主管审批）" if offer.needs_approval else "",
        approval_en=" (needs a supervisor's approval)" if offer.needs_approval else "",
    )


# A button's title is read on one line: Telegram shows about 30 characters of it on a phone.
# The longest form that fits is used.
MAX_TITLE = 30


def button_title(lang: str, n: int, offer: Any) -> str:
    """What the borrower reads on the button: the offer's number, amount and shape, which tell
    the offers apart ("2. Settle 2,676.63 in 2 parts", "3. 6 × 8,013.40")."""
    forms = [f"{n}. {form}" for form in _title_forms(lang, offer)]
    return next((t for t in forms if len(t) <= MAX_TITLE), forms[-1])


def _title_forms(lang: str, offer: Any) -> list[str]:
    if offer.kind == "installment":
        return _installment_titles(lang, offer)
    if offer.kind == "extension":
        fee = f"{offer.fee:,.2f}"
        if lang == "zh":
            return [f"延期{offer.months}个月 手续费{fee}", f"延期{offer.months}个月"]
        months = f"{offer.months} month{'s' if offer.months != 1 else ''}"
        return [f"Extend {months}, fee {fee}", f"Extend {offer.months} mo, fee {fee}"]
    total = f"{offer.total:,.2f}"
    parts = offer.parts or 1
    if lang == "zh":
        return [f"一次结清 {total}" if parts == 1 else f"分{parts}笔结清 {total}"]
    if parts == 1:
        return [f"Settle {total} now", f"Settle {total}"]
    return [f"Settle {total} in {parts} parts", f"Settle {total} in {parts}"]


def _installment_titles(lang: str, offer: Any) -> list[str]:
    rows, term = offer.installments, offer.term_months
    has_down = len(rows) > (term or 0)
    monthly = f"{rows[1 if has_down else 0].amount:,.2f}"
    down = f"{rows[0].amount:,.2f}" if has_down else None
    if lang == "zh":
        plain = f"分{term}期 每期{monthly}"
        return [f"首付{down} 分{term}期×{monthly}", plain] if down else [plain]
    plain = f"{term} × {monthly}"
    if down is None:
        return [plain]
    return [f"{down} now + {term} × {monthly}", f"{down} + {term} × {monthly}", plain]


def distinct(offers: list[Any]) -> list[Any]:
    """Offers that differ in what the borrower would pay and when: the same schedule twice is
    shown once."""
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for offer in offers:
        shape = (offer.kind, offer.total, tuple((r.due_date, r.amount) for r in offer.installments))
        if shape not in seen:
            seen.add(shape)
            kept.append(offer)
    return kept


class ActionShowOffers(BorrowerAction):
    def name(self) -> str:
        return "action_show_offers"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan = await current_loan(client, channel, user_id, tracker)
        if loan is None:
            dispatcher.utter_message(text=say(lang, "no_loans"))
            return []
        kind = KIND_OF_INTENT.get(request_intent(tracker) or "")
        term = term_asked(request_text(tracker), tracker.get_slot("term_months"))
        shown = await show_offers(
            dispatcher, client, channel, user_id, loan.loan_ref, kind, lang, term
        )
        return [
            SlotSet("loan_ref", loan.loan_ref),
            SlotSet("offers_shown", shown or None),
            SlotSet("term_months", None),  # asked for these offers, not for the next ones
        ]


async def show_offers(
    dispatcher, client, channel, user_id, loan_ref, kind, lang, term: int | None = None
) -> list[str]:
    """The offers as numbered lines and buttons; their ids in that order (none: why not).
    `term`: the months the borrower asked for ("分6期"): that offer first, or a word that it is
    not among them."""
    offers = await client.offers(channel, user_id, loan_ref)
    chosen = distinct([o for o in offers.offers if o.kind == kind] or list(offers.offers))
    asked: list[str] = []
    if term is not None and chosen:
        matching = [o for o in chosen if o.term_months == term]
        chosen = matching + [o for o in chosen if o.term_months != term]
        asked = [say(lang, "term_offered" if matching else "term_not_offered", term=term)]
    chosen = chosen[:MAX_SHOWN]
    if not chosen:
        why_not = [r for r in offers.not_offered if kind in (None, r.kind, "any")] or list(
            offers.not_offered
        )
        reasons = list(dict.fromkeys(why(lang, "why_not", r.code, r.params) for r in why_not))
        if not reasons:
            reasons = [say(lang, "why_not")]
        dispatcher.utter_message(
            text=say(lang, "no_offers", reason=("; " if lang == "en" else "；").join(reasons[:2])),
            buttons=buttons(lang, "/request_human"),
        )
        return []
    lines = [*asked, say(lang, "offers_head")] + [
        describe(lang, n, o, offers.currency) for n, o in enumerate(chosen, 1)
    ]
    because = offers.first_because
    if because is not None and len(chosen) > 1 and chosen[0].id == offers.offers[0].id:
        lines.append(
            why(lang, "first_because", because.code, {**because.params, "cur": offers.currency})
        )
    choices: list[dict[str, str]] = [
        {
            "title": button_title(lang, n, o),
            "payload": "/choose_offer" + json.dumps({"offer_id": o.id}),
        }
        for n, o in enumerate(chosen, 1)
    ]
    dispatcher.utter_message(
        text="\n".join(lines), buttons=choices + buttons(lang, "/request_human")
    )
    return [o.id for o in chosen]


class ActionAcceptOffer(BorrowerAction):
    def name(self) -> str:
        return "action_accept_offer"

    async def act(self, dispatcher, tracker, client, channel, user_id, lang) -> Events:
        loan_ref = tracker.get_slot("loan_ref")
        if not loan_ref:
            loan = await current_loan(client, channel, user_id, tracker)
            loan_ref = loan.loan_ref if loan else None
        offer_id = tracker.get_slot("offer_id")
        if not loan_ref or not offer_id:
            dispatcher.utter_message(text=say(lang, "not_understood"))
            return []
        try:
            accepted = await client.accept_offer(channel, user_id, loan_ref, offer_id)
        except api.Refused as refused:
            if refused.code != "offer_no_longer_valid":
                raise
            dispatcher.utter_message(text=say(lang, "offer_gone"))
            shown = await show_offers(dispatcher, client, channel, user_id, loan_ref, None, lang)
            return [SlotSet("offer_id", None), SlotSet("offers_shown", shown or None)]
        if accepted.status == "pending_approval" or accepted.arrangement is None:
            dispatcher.utter_message(text=say(lang, "approval_pending"))
        else:
            first = accepted.arrangement.installments[0]
            loan = await client.balance(channel, user_id, loan_ref)
            dispatcher.utter_message(
                text=say(
                    lang, "arranged", amount=first.amount, cur=loan.currency, date=first.due_date
                ),
                buttons=buttons(lang, "/make_payment"),
            )
        return [SlotSet("offer_id", None), SlotSet("offers_shown", None)]
