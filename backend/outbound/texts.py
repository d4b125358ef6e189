"""What the backend itself says to a borrower (through the outbox), in each language. Pure but
for the overrides operations approved in the console (the Texts page's notices), which the
process that sends them follows (policy_versions/running.py) and `say` looks up first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

TEXTS: dict[str, dict[str, str]] = {
    "collector_joined": {
        "zh": "客服{collector}已接入，请问有什么可以帮您？",
        "en": "A colleague, {collector}, has joined the chat.",
    },
    "back_to_bot": {
        "zh": "已转回智能助手。请直接输入您的问题，需要人工请发送 /human。",
        "en": "You're back with the assistant. Type your question, or /human for a person.",
    },
    "settlement_approved": {
        "zh": (
            "好消息：您借款 {loan} 的减免结清申请已获批准。共还 {total} {cur}"
            "（减免 {discount} {cur}），{parts_zh}"
            "首笔 {first_amount} {cur} 请于 {first_date} 前还款。需要还款链接请回复“还款”。"
        ),
        "en": (
            "Good news: your settlement for loan {loan} is approved. You pay {total} {cur} in all "
            "({discount} {cur} off){parts_en}; the first payment of {first_amount} {cur} is due "
            'by {first_date}. Say "pay" for a payment link.'
        ),
    },
    "settlement_rejected": {
        "zh": (
            "很抱歉，您借款 {loan} 的减免结清申请（共还 {total} {cur}）未获批准。"
            "可以回复“分期”查看其他还款方案，需要人工请发送 /human。"
        ),
        "en": (
            "Sorry, your settlement request for loan {loan} ({total} {cur} in all) was not "
            "approved. Ask me about payment plans to see other options, or send /human for a "
            "person."
        ),
    },
    # -- from a collector in a chat they have taken --------------------------------------------
    "payment_link": {
        "zh": "这是您的还款链接，金额 {amount} {cur}：\n{url}\n链接将于 {expires} 失效。",
        "en": "Here is your payment link for {amount} {cur}:\n{url}\nIt expires {expires}.",
    },
    "pay_button": {"zh": "立即还款", "en": "Pay now"},
    "offers_head": {
        "zh": "借款 {loan} 目前可以办理以下还款方案：",
        "en": "These are the payment plans available for loan {loan}:",
    },
    "offer_installment": {
        "zh": (
            "{n}. 分{term}期：共{count}笔，首笔 {first_amount} {cur}（{first_date} 前），"
            "之后每月 {monthly} {cur}；手续费 {fee} {cur}，共还 {total} {cur}"
        ),
        "en": (
            "{n}. {term}-month plan: {count} payments, the first of {first_amount} {cur} by "
            "{first_date}, then {monthly} {cur} a month; fee {fee} {cur}, {total} {cur} in all"
        ),
    },
    "offer_extension": {
        "zh": (
            "{n}. 延期{months}个月：{count}笔待还款项顺延，首笔 {first_amount} {cur}"
            "（{first_date} 前，含手续费 {fee} {cur}），共还 {total} {cur}"
        ),
        "en": (
            "{n}. {months}-month extension: the payments still owed ({count}) move later, the "
            "first of {first_amount} {cur} by {first_date} (including the {fee} {cur} fee); "
            "{total} {cur} in all"
        ),
    },
    "offer_settlement": {
        "zh": (
            "{n}. 减免结清：共还 {total} {cur}（减免 {discount} {cur}），"
            "请于 {first_date} 前一次还清{approval_zh}"
        ),
        "en": (
            "{n}. Settle for {total} {cur} ({discount} {cur} off), paid in one go by "
            "{first_date}{approval_en}"
        ),
    },
    "offer_settlement_parts": {
        "zh": (
            "{n}. 减免结清：共还 {total} {cur}（减免 {discount} {cur}），分{parts}笔还清，"
            "首笔 {first_amount} {cur}（{first_date} 前）{approval_zh}"
        ),
        "en": (
            "{n}. Settle for {total} {cur} ({discount} {cur} off) in {parts} payments, the "
            "first of {first_amount} {cur} by {first_date}{approval_en}"
        ),
    },
    # Why offer 1 is first (backend/plans/order.py, FIRST_BECAUSE); amounts as in the offers.
    "first_because.fits_payments": {
        "zh": (
            "第1个方案排在最前：每期最多 {largest} {cur}，与您近{months}个月通常每月还款"
            "（约 {median} {cur}）相符，且在相符的方案中费用最低。"
        ),
        "en": (
            "Option 1 comes first: its payments (at most {largest} {cur}) fit what you have paid "
            "in recent months, about {median} {cur} a month, and it costs the least of those "
            "that do."
        ),
    },
    "first_because.kept_promises": {
        "zh": (
            "第1个方案排在最前：您一直按承诺还款，所以它每期比您通常每月的 {median} {cur} "
            "略高（最多 {largest} {cur}），但总费用更低。"
        ),
        "en": (
            "Option 1 comes first: you have kept your promises to pay, so it asks a little more "
            "than your usual {median} {cur} a month (at most {largest} {cur}) and costs you less."
        ),
    },
    "first_because.closest_to_payments": {
        "zh": (
            "第1个方案排在最前：它每期金额最小（最多 {largest} {cur}），最接近您近{months}个月"
            "通常每月还款的 {median} {cur} 左右。"
        ),
        "en": (
            "Option 1 comes first: it has the smallest payments (at most {largest} {cur}), the "
            "closest to what you have paid in recent months, about {median} {cur} a month."
        ),
    },
    "first_because.hardship": {
        "zh": "您告诉过我们近期经济困难，所以每期金额最小的方案排在最前（最多 {largest} {cur}）。",
        "en": (
            "Since you told us money is tight, the plan with the smallest payments comes first "
            "(at most {largest} {cur})."
        ),
    },
    "first_because.nothing_paid": {
        "zh": "第1个方案排在最前：它每期金额最小（最多 {largest} {cur}）。",
        "en": "Option 1 comes first: it has the smallest payments (at most {largest} {cur}).",
    },
    "offers_tail": {
        "zh": "您看哪个方案合适？告诉我序号即可。",
        "en": "Which one suits you? Just tell me its number.",
    },
    "plan_kind_installment": {"zh": "分期还款", "en": "payment plan"},
    "plan_kind_extension": {"zh": "延期还款", "en": "extension"},
    "plan_kind_settlement": {"zh": "减免结清", "en": "settlement"},
    "plan_agreed": {
        "zh": (
            "您借款 {loan} 的{kind}方案已生效，共还 {total} {cur}。第一笔 {amount} {cur}，"
            "请于 {date} 前还款。需要还款链接可以随时告诉我们。"
        ),
        "en": (
            "Your {kind} for loan {loan} is in place: {total} {cur} in all. The first payment "
            "of {amount} {cur} is due by {date}. Just ask if you'd like a payment link."
        ),
    },
    "plan_sent_for_approval": {
        "zh": (
            "您借款 {loan} 的{kind}方案（共还 {total} {cur}）需要主管审批，已为您提交。"
            "审批结果出来后会在这里通知您。"
        ),
        "en": (
            "Your {kind} for loan {loan} ({total} {cur} in all) needs a supervisor's approval, "
            "so we've sent it to one. We'll tell you here as soon as it's decided."
        ),
    },
    "promise_recorded": {
        "zh": (
            "已为您记录还款承诺：借款 {loan}，{date} 前还款 {amount} {cur}。谢谢您！"
            "需要还款链接可以随时告诉我们。"
        ),
        "en": (
            "We've noted your promise to pay {amount} {cur} on loan {loan} by {date}. "
            "Thank you! Just ask if you'd like a payment link."
        ),
    },
    # zh: the reference is set off by spaces from the Chinese around it, as elsewhere
    "about_loan": {"zh": "借款 {loan} ", "en": "loan {loan}"},
    "about_all_loans": {"zh": "您名下所有借款", "en": "all your loans"},
    "dispute_recorded": {
        "zh": "已为您登记异议（编号 {case}）。核实期间，我们会暂停对{about}的催收联系。",
        "en": (
            "We've recorded your dispute (reference {case}). While it's reviewed, we'll pause "
            "collection contact about {about}."
        ),
    },
    "hardship_recorded": {
        "zh": "已为您登记困难情况（编号 {case}），工作人员会跟进处理。",
        "en": "We've recorded your situation (reference {case}), and our team will follow up.",
    },
    "hardship_hold": {
        "zh": "已为您登记困难情况（编号 {case}）。跟进期间，我们会暂停就{about}主动联系您。",
        "en": (
            "We've recorded your situation (reference {case}). While our team follows up, we "
            "won't contact you about {about}."
        ),
    },
}


def pick_language(*candidates: str | None) -> str:
    """The first known language among the candidates (the borrower's, then the chat's), or
    Chinese."""
    return next((c for c in candidates if c in LANGUAGES), DEFAULT_LANGUAGE)


# key -> language -> text, replaced whole (never mutated) by `use_running`.
_running: Mapping[str, Mapping[str, str]] = {}


def use_running(overrides: Mapping[str, Mapping[str, str]]) -> None:
    global _running  # noqa: PLW0603  (one process-wide version, swapped whole)
    _running = {key: dict(entry) for key, entry in overrides.items() if key in TEXTS}


def say(key: str, language: str, **values: object) -> str:
    by_language = TEXTS[key]
    language = language if language in by_language else DEFAULT_LANGUAGE
    override = _running.get(key, {}).get(language)
    if override:
        try:
            return override.format(**values)
        except (KeyError, IndexError, ValueError):  # checked before it ran; never a lost notice
            pass
    return by_language[language].format(**values)


def collector_joined(language: str, *, collector: str) -> str:
    return say("collector_joined", language, collector=collector)


def back_to_bot(language: str) -> str:
    return say("back_to_bot", language)


def settlement_approved(
    language: str,
    *,
    loan: str,
    currency: str,
    total: str,
    discount: str,
    parts: int,
    first_amount: str,
    first_date: str,
) -> str:
    return say(
        "settlement_approved",
        language,
        loan=loan,
        cur=currency,
        total=total,
        discount=discount,
        parts_zh=f"分{parts}笔还清，" if parts > 1 else "",
        parts_en=f" in {parts} payments" if parts > 1 else "",
        first_amount=first_amount,
        first_date=first_date,
    )


def settlement_rejected(language: str, *, loan: str, currency: str, total: str) -> str:
    return say("settlement_rejected", language, loan=loan, cur=currency, total=total)


# -- from a collector in a chat they have taken ------------------------------------------------


def payment_link(language: str, *, amount: str, currency: str, url: str, expires: str) -> str:
    return say("payment_link", language, amount=amount, cur=currency, url=url, expires=expires)


def pay_button(language: str) -> str:
    return say("pay_button", language)


def installment_offer(
    language: str,
    *,
    n: int,
    term: int,
    count: int,
    currency: str,
    first_amount: str,
    first_date: str,
    monthly: str,
    fee: str,
    total: str,
) -> str:
    return say(
        "offer_installment",
        language,
        n=n,
        term=term,
        count=count,
        cur=currency,
        first_amount=first_amount,
        first_date=first_date,
        monthly=monthly,
        fee=fee,
        total=total,
    )


def extension_offer(
    language: str,
    *,
    n: int,
    months: int,
    count: int,
    currency: str,
    first_amount: str,
    first_date: str,
    fee: str,
    total: str,
) -> str:
    return say(
        "offer_extension",
        language,
        n=n,
        months=months,
        count=count,
        cur=currency,
        first_amount=first_amount,
        first_date=first_date,
        fee=fee,
        total=total,
    )


def settlement_offer(
    language: str,
    *,
    n: int,
    parts: int,
    currency: str,
    first_amount: str,
    first_date: str,
    discount: str,
    total: str,
    needs_approval: bool,
) -> str:
    return say(
        "offer_settlement_parts" if parts > 1 else "offer_settlement",
        language,
        n=n,
        parts=parts,
        cur=currency,
        first_amount=first_amount,
        first_date=first_date,
        discount=discount,
        total=total,
        approval_zh="（需主管审批）" if needs_approval else "",
        approval_en=" (needs a supervisor's approval)" if needs_approval else "",
    )


def offers(
    language: str, *, loan: str, lines: Sequence[str], first_because: str | None = None
) -> str:
    """The offers as one message: what they are for, one line each, why the first is first,
    and the question."""
    why = [first_because] if first_because else []
    return "\n".join(
        [say("offers_head", language, loan=loan), *lines, *why, say("offers_tail", language)]
    )


def first_because(language: str, code: str, **figures: object) -> str:
    return say(f"first_because.{code}", language, **figures)


def plan_agreed(
    language: str, *, loan: str, kind: str, currency: str, total: str, amount: str, date: str
) -> str:
    return say(
        "plan_agreed",
        language,
        loan=loan,
        kind=say(f"plan_kind_{kind}", language),
        cur=currency,
        total=total,
        amount=amount,
        date=date,
    )


def plan_sent_for_approval(
    language: str, *, loan: str, kind: str, currency: str, total: str
) -> str:
    return say(
        "plan_sent_for_approval",
        language,
        loan=loan,
        kind=say(f"plan_kind_{kind}", language),
        cur=currency,
        total=total,
    )


def promise_recorded(language: str, *, loan: str, currency: str, amount: str, date: str) -> str:
    return say("promise_recorded", language, loan=loan, cur=currency, amount=amount, date=date)


def _about(language: str, loan: str | None) -> str:
    if loan is None:
        return say("about_all_loans", language)
    return say("about_loan", language, loan=loan)


def case_recorded(language: str, *, kind: str, case: int, loan: str | None, hold: bool) -> str:
    """A dispute pauses collection on its loan (or all of them); a hardship report pauses
    contact only when it asks for a hold."""
    if kind == "dispute":
        return say("dispute_recorded", language, case=case, about=_about(language, loan))
    if hold:
        return say("hardship_hold", language, case=case, about=_about(language, loan))
    return say("hardship_recorded", language, case=case)
