"""What the gateway itself says (everything else is the assistant's): failures behind it,
messages it cannot read. Short, honest, in the borrower's language."""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u9fff]")

TEXTS: dict[str, dict[str, str]] = {
    "backend_down": {
        "zh": "抱歉，系统暂时无法处理您的消息。您的消息已保存，我们恢复后会尽快跟进；您也可以稍后再试。",
        "en": "Sorry, we can't process your message right now. It has been saved and we will "
        "follow up once we are back; you can also try again in a few minutes.",
    },
    "assistant_down": {
        "zh": "抱歉，智能助手暂时无法回复。您的消息已保存，请稍后再发一次；如需人工客服，请发送 /human。",
        "en": "Sorry, the assistant can't answer right now. Your message has been saved: please "
        "send it again shortly, or send /human to reach a person.",
    },
    "text_only": {
        "zh": "抱歉，我只能读取文字消息。请用文字告诉我您需要什么。",
        "en": "Sorry, I can only read text messages. Please type what you need.",
    },
    "edited": {
        "zh": "我看不到修改后的消息，请重新发送一条新消息。",
        "en": "I can't see edits to earlier messages. Please send it again as a new message.",
    },
    "unknown_command": {
        "zh": "我不认识这个指令。可用指令：/help 帮助，/language 切换语言，/human 人工客服，/stop 退订。",
        "en": "I don't know that command. Try /help, /language, /human or /stop.",
    },
    "button_expired": {
        "zh": "这个按钮已失效，请直接输入您的需求。",
        "en": "That button has expired. Please type what you need.",
    },
    "own_contact_only": {
        "zh": "请用下方按钮分享您本人的手机号码。",
        "en": "Please share your own phone number with the button below.",
    },
    "share_phone_button": {
        "zh": "📱 分享我的手机号码",
        "en": "📱 Share my phone number",
    },
    "too_fast": {
        "zh": "消息发送太频繁，请稍后再试。",
        "en": "You're sending messages too quickly. Please wait a moment.",
    },
    "sms_opted_out": {
        "zh": "您已退订短信提醒，我们不会再通过短信联系您。回复“开启提醒”可恢复。如需帮助，请打开对话：{link}",
        "en": "You will get no more reminders by SMS. Reply START to get them again. For help, "
        "open the chat: {link}",
    },
    "sms_kept": {
        "zh": "已收到您的短信。系统正在恢复，稍后会处理（包括退订）。查询或还款请打开对话：{link}",
        "en": "We got your text and will act on it (a STOP included) as soon as our system is "
        "back. To ask or pay, open the chat: {link}",
    },
    "sms_opted_in": {
        "zh": "好的，您将重新收到短信还款提醒。回复“退订”可随时停止。",
        "en": "Done: you will get reminders by SMS again. Reply STOP to stop them.",
    },
    "sms_no_replies": {
        "zh": "本号码不接收回复。查询、还款或咨询请打开对话：{link} 回复“退订”可不再接收短信。",
        "en": "This number does not read replies. To ask, pay or talk to us, open the chat: "
        "{link} Reply STOP to get no more texts, START to get them again.",
    },
    "error": {
        "zh": "抱歉，出了点问题。请稍后再试，或发送 /human 联系人工客服。",
        "en": "Sorry, something went wrong. Please try again, or send /human for a person.",
    },
}


def say(key: str, language: str | None) -> str:
    return TEXTS[key].get(language or "zh", TEXTS[key]["zh"])


def script_of(text: str) -> str | None:
    """zh for Chinese characters, en for English words (full-width ones too), else None; a
    command or payload says nothing."""
    if _CJK.search(text):
        return "zh"
    folded = unicodedata.normalize("NFKC", text)
    if re.search(r"[A-Za-z]{2}", re.sub(r"^/\w+(\{.*\})?", "", folded, flags=re.S)):
        return "en"
    return None


def language_of(text: str, *, conversation: str | None = None, app: str | None = None) -> str:
    """The language to answer in: the conversation's, else the script the borrower writes in,
    else their app's language, else Chinese."""
    if conversation in ("zh", "en"):
        return conversation
    if written := script_of(text):
        return written
    app_lang = (app or "").lower()[:2]
    return app_lang if app_lang in ("zh", "en") else "zh"
