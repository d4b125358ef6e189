"""What the backend itself says to a borrower (through the outbox), in each language. Pure."""

from __future__ import annotations

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
}


def pick_language(*candidates: str | None) -> str:
    """The first known language among the candidates (the borrower's, then the chat's), or
    Chinese."""
    return next((c for c in candidates if c in LANGUAGES), DEFAULT_LANGUAGE)


def say(key: str, language: str, **values: object) -> str:
    by_language = TEXTS[key]
    return by_language.get(language, by_language[DEFAULT_LANGUAGE]).format(**values)


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
