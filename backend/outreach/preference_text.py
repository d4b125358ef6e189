"""A borrower's words about when to be contacted ("周末别发", "只在晚上联系我", "don't message me
at work", "after 7pm please") read as a contact preference: a window and days. Pure.

What it reads, in Chinese and English: days (周末 / weekends, 工作日 / weekdays, 周一..周日 /
Monday..Sunday, with "only" or a negation), parts of the day (上午 / morning, 下午 / afternoon,
晚上 / evening, 上班时间 / at work), and clock times ("7点以后", "after 7pm", "before 9am",
"18:00-20:00"). A negated part of the day keeps what is left of the day on one side of it:
"not at work" is the evening. What it cannot read gives None: the words are then kept for a
person, never guessed at.
"""

from __future__ import annotations

import re
from datetime import time

from backend.outreach.policy import WEEKDAYS, ContactPreference, ContactWindow

END_OF_DAY = time(23, 59)
WORKDAYS = WEEKDAYS[:5]
WEEKEND = WEEKDAYS[5:]

_NEGATION = re.compile(
    r"别|不要|不用|勿|不能|不想|不方便|避开|除了"
    r"|\b(?:don'?t|do not|not|never|no|avoid|except|stop)\b",
    re.IGNORECASE,
)
_ONLY = re.compile(r"只|仅|\b(?:only|just)\b", re.IGNORECASE)

_DAY_WORDS: dict[str, tuple[str, ...]] = {
    "mon": ("周一", "星期一", "礼拜一", "monday"),
    "tue": ("周二", "星期二", "礼拜二", "tuesday"),
    "wed": ("周三", "星期三", "礼拜三", "wednesday"),
    "thu": ("周四", "星期四", "礼拜四", "thursday"),
    "fri": ("周五", "星期五", "礼拜五", "friday"),
    "sat": ("周六", "星期六", "礼拜六", "saturday"),
    "sun": ("周日", "周天", "星期日", "星期天", "礼拜日", "礼拜天", "sunday"),
}
_ALSO = re.compile(r"也|\b(?:too|also|as well)\b", re.IGNORECASE)  # "周末也可以": every day
_ANY = re.compile(r"任何时间|随时|什么时候都|\bany ?time\b|\bwhenever\b", re.IGNORECASE)
_WEEKEND = re.compile(r"周末|双休|weekends?", re.IGNORECASE)
_WORKDAY = re.compile(r"工作日|weekdays?|workdays?|working days?", re.IGNORECASE)

# Parts of the day: (start, end) and what is left of the day when the part is refused.
_PARTS: tuple[tuple[re.Pattern[str], tuple[time, time], tuple[time, time] | None], ...] = (
    (
        re.compile(r"上班|工作时间|at work|working hours|office hours|during work", re.I),
        (time(9), time(18)),
        (time(18), END_OF_DAY),
    ),
    (
        re.compile(r"早上|上午|早晨|mornings?", re.I),
        (time(0), time(12)),
        (time(12), END_OF_DAY),
    ),
    (re.compile(r"中午|noon|lunch", re.I), (time(11), time(14)), None),
    (re.compile(r"下午|afternoons?", re.I), (time(12), time(18)), None),
    (
        re.compile(r"晚上|傍晚|下班后|evenings?|nights?|after work", re.I),
        (time(18), END_OF_DAY),
        (time(0), time(18)),
    ),
)

_CLOCK = r"(\d{1,2})(?:[:：点](\d{2})?)?\s*(am|pm|a\.m\.|p\.m\.)?"
_RANGE = re.compile(_CLOCK + r"\s*(?:-|~|到|至|to|until)\s*" + _CLOCK, re.IGNORECASE)
_AFTER = re.compile(
    r"(?:after|from|since)\s+" + _CLOCK + r"|" + _CLOCK + r"\s*(?:以后|之后|后)", re.I
)
_BEFORE = re.compile(
    r"(?:before|until|till)\s+" + _CLOCK + r"|" + _CLOCK + r"\s*(?:以前|之前|前)", re.I
)
_EVENING_PREFIX = re.compile(r"晚上|下午|傍晚")


def _clock(hour: str | None, minute: str | None, half: str | None, evening: bool) -> time | None:
    if hour is None:
        return None
    h, m = int(hour), int(minute or 0)
    half = (half or "").lower().replace(".", "")
    if (half == "pm" and h < 12) or (not half and evening and h < 12):
        h += 12
    if half == "am" and h == 12:
        h = 0
    if h > 23 or m > 59:
        return None
    return time(h, m)


def _first(match: re.Match[str], evening: bool) -> time | None:
    """The clock time a one-sided match names (its groups are the two alternatives')."""
    groups = match.groups()
    for i in range(0, len(groups), 3):
        found = _clock(groups[i], groups[i + 1], groups[i + 2], evening)
        if found is not None:
            return found
    return None


def _days(text: str, negated: bool, only: bool) -> tuple[str, ...] | None:
    named = [d for d, words in _DAY_WORDS.items() if any(w in text.lower() for w in words)]
    if _WEEKEND.search(text):
        named += WEEKEND
    if _WORKDAY.search(text):
        named += WORKDAYS
    if not named:
        return None
    if negated and not only:
        left = tuple(d for d in WEEKDAYS if d not in named)
        return left or None
    if _ALSO.search(text) and not only:
        return WEEKDAYS
    return tuple(d for d in WEEKDAYS if d in named)


def _window(text: str, negated: bool) -> ContactWindow | None:
    evening = bool(_EVENING_PREFIX.search(text))
    if (found := _RANGE.search(text)) is not None:
        h1, m1, half1, h2, m2, half2 = found.groups()
        start = _clock(h1, m1, half1, evening)
        end = _clock(h2, m2, half2, evening)
        if start is not None and end is not None and start < end:
            return ContactWindow(start=start, end=end)
    after, before = _AFTER.search(text), _BEFORE.search(text)
    if negated and (after is None) != (before is None):
        after, before = before, after  # "not before 9am": from 9; "don't ... after 8pm": to 8
    if after is not None or before is not None:
        start = _first(after, evening) if after else time(0)
        end = _first(before, evening) if before else END_OF_DAY
        if start is not None and end is not None and start < end:
            return ContactWindow(start=start, end=end)
        return None
    for pattern, span, rest in _PARTS:
        if pattern.search(text):
            chosen = rest if negated else span
            return None if chosen is None else ContactWindow(start=chosen[0], end=chosen[1])
    return None


# "Any time is fine": no wish of the borrower's left, only the profile's limits.
ANY_TIME = ContactPreference(window=ContactWindow(start=time(0), end=END_OF_DAY), days=WEEKDAYS)


def read_preference(text: str) -> ContactPreference | None:
    """The contact preference the words say (`ANY_TIME` for "随时都可以"), or None when they say
    none this can read."""
    if _ANY.search(text) and not _NEGATION.search(text):
        return ANY_TIME
    negated = bool(_NEGATION.search(text))
    only = bool(_ONLY.search(text))
    days = _days(text, negated, only)
    window = _window(text, negated)
    if days is None and window is None:
        return None
    return ContactPreference(window=window, days=days)


def merged(before: ContactPreference, said: ContactPreference) -> ContactPreference:
    """A new wish over the one before: what it names (the days, the hours) replaces; what it
    does not name stays."""
    return ContactPreference(window=said.window or before.window, days=said.days or before.days)


def describe(preference: ContactPreference) -> dict[str, str]:
    """The preference in words, per language, for the borrower's confirmation and the console."""
    names = {
        "zh": dict(zip(WEEKDAYS, "一二三四五六日", strict=True)),
        "en": dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True)),
    }
    days = None if preference.days == WEEKDAYS else preference.days
    window = preference.window
    hours = {"zh": "", "en": ""}
    if window is not None and window.start == time(0) and window.end == END_OF_DAY:
        pass  # the whole day: no limit of the borrower's
    elif window is not None and window.end == END_OF_DAY:  # "after 7pm": up to the profile's end
        hours = {"zh": f"{window.start:%H:%M}以后", "en": f"after {window.start:%H:%M}"}
    elif window is not None and window.start == time(0):
        hours = {"zh": f"{window.end:%H:%M}以前", "en": f"before {window.end:%H:%M}"}
    elif window is not None:
        hours = {"zh": f"{window.start:%H:%M}-{window.end:%H:%M}"}
        hours["en"] = hours["zh"]
    zh_days = (
        "工作日"
        if days == WORKDAYS
        else "周末"
        if days == WEEKEND
        else "、".join("周" + names["zh"][d] for d in days)
        if days
        else ""
    )
    en_days = (
        "weekdays"
        if days == WORKDAYS
        else "weekends"
        if days == WEEKEND
        else ", ".join(names["en"][d] for d in days)
        if days
        else ""
    )
    return {
        "zh": " ".join(p for p in (zh_days, hours["zh"]) if p) or "任何时间",
        "en": " ".join(p for p in (en_days, hours["en"]) if p) or "any time",
    }
