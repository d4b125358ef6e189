"""The security notice a borrower's verified chats get when verification as them is locked,
and when it may go. Pure.

It is a proactive message, so it keeps to the borrower's contact window (compliance.yml): a
lock tripped at night is told when the window opens. It says nothing about any debt, so the
reminder caps and holds do not apply to it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from backend.outbound.texts import pick_language
from backend.outreach.policy import ContactWindow
from backend.outreach.rules import next_window_start, within_window

LOCK_NOTICE = {
    "zh": (
        "安全提醒：有人多次尝试以您的身份进行验证，均未成功。为保护您的账户，手机号验证已暂停至 "
        "{until}。如果不是您本人，请不要向任何人透露您的身份证号或出生日期。需要人工帮助请发送 "
        "/human。"
    ),
    "en": (
        "Security notice: someone tried several times to verify as you, without success. To "
        "protect your account, verification by phone number is paused until {until}. If it "
        "wasn't you, don't share your ID number or date of birth with anyone. Send /human to "
        "reach a person."
    ),
}


def lock_notice(language: str | None, *, locked_until: datetime, zone: ZoneInfo) -> str:
    """The notice in the borrower's language (Chinese when unknown), the lock's end in their
    local time."""
    until = locked_until.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return LOCK_NOTICE[pick_language(language)].format(until=until)


def notice_at(now: datetime, zone: ZoneInfo, window: ContactWindow) -> datetime:
    """Now inside the borrower's contact window, else when it next opens."""
    if within_window(now.astimezone(zone), window):
        return now
    return next_window_start(now, zone.key, window)
