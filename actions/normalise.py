"""Borrowers' amounts, dates and numbers of months, as values. Pure: no I/O, no clock (the
caller passes `today`, in the borrower's time zone).

Whatever cannot be read with certainty comes back `None`, so the assistant asks again instead
of guessing ("payday", "next week", "过几天"). The libraries are combined with a thin layer of
rules for what they get wrong (FIELD-NOTES, "Normalising amounts and dates"): cn2an reads
Chinese numerals; jionlp reads Chinese relative dates but answers in the past for 15号 and
fails on 月底; dateparser reads English but gives the past for "the 20th" and nothing for
"end of the month". So the rules come first, preferring the future for a day named without
its month or week, and the libraries see only what the rules do not cover.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

# -- numbers ----------------------------------------------------------------------------------

_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_CN_NUMBER = re.compile(rf"[{_CN_DIGITS}点\d.]+")
_PLAIN = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*(k|w|千|万|百|hundred|thousand|million)")
_SCALES = {"k": 1000, "千": 1000, "thousand": 1000, "w": 10000, "万": 10000}
_SCALES |= {"百": 100, "hundred": 100, "million": 1_000_000}


def _numbered(words: str, start: int = 0, step: int = 1) -> dict[str, int]:
    return {w: start + step * i for i, w in enumerate(words.split())}


_UNITS = _numbered(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = _numbered("twenty thirty forty fifty sixty seventy eighty ninety", 20, 10)


def _clean(text: str) -> str:
    """Full-width to ASCII (１５００ -> 1500, ￥ -> ¥), lower case, single spaces, no end
    punctuation."""
    s = unicodedata.normalize("NFKC", str(text)).lower()
    s = re.sub(r"\s+", " ", s)
    return s.strip(" \t.,;:!?。，；：！？~～、\"'“”‘’()（）")


def _number(s: str) -> Decimal | None:
    """1,500 / 2500.50 / 1.5k / 两千五 / 1万5 / five hundred -> a Decimal; anything else None."""
    s = s.strip()
    if m := _PLAIN.fullmatch(s):
        return Decimal(m.group(1).replace(",", "") + (m.group(2) or ""))
    if m := _SCALED.fullmatch(s):
        return Decimal(m.group(1)) * _SCALES[m.group(2)]
    if _CN_NUMBER.fullmatch(s) and re.search(f"[{_CN_DIGITS}]", s):
        return _chinese_number(s)
    if re.fullmatch(r"[a-z][a-z\- ]*", s):
        words = _english_number(s)
        return None if words is None else Decimal(words)
    return None


def _chinese_number(s: str) -> Decimal | None:
    import cn2an  # imported on first use: no work at import

    try:
        value = cn2an.cn2an(s, "smart")  # "smart" reads the colloquial 两千五 as 2500
        return Decimal(str(value))
    except (ValueError, KeyError, IndexError, InvalidOperation):
        return None


def _english_number(s: str) -> int | None:
    """Spelt out: "five hundred", "twenty-five", "a thousand two hundred"; else None."""
    words = [w for w in s.replace("-", " ").split() if w != "and"]
    if not words or all(w in ("a", "an") for w in words):
        return None
    total = current = 0
    for w in words:
        if w in _UNITS:
            current += _UNITS[w]
        elif w in ("a", "an"):
            current += 1
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w in ("thousand", "million"):
            total += max(current, 1) * _SCALES[w]
            current = 0
        else:
            return None
    return total + current


def _whole(s: str) -> int | None:
    value = _number(s)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


# -- amounts ----------------------------------------------------------------------------------

_MAX_AMOUNT = Decimal(100_000_000)
_NEGATIVE = re.compile(r"^-|负|minus|negative")
_CURRENCY = re.compile(
    r"人民币|新币|新元|块钱|块|元整|元|圆|s\$|\$|¥|"
    r"(?<![a-z])(?:rmb|cny|sgd|usd|yuan|dollars?|bucks)(?![a-z])"
)
_AMOUNT_FILLER = re.compile(
    r"大概|大约|差不多|左右|先|还|付|我|能|可以|只能|就|给你|吧|啊|呢|了|整|"
    r"\b(?:about|around|approx(?:imately)?|only|just|i can pay|i can|i will pay|i'll pay|pay)\b"
)


def parse_amount(text: str) -> Decimal | None:
    """A sum of money in major units (2 decimals at most, more than zero), or None.

    两千五 -> 2500, 五千块 -> 5000, 1,500元 -> 1500, 5k -> 5000, 1.5k -> 1500, $300 -> 300,
    "2500 yuan" -> 2500, "five hundred" -> 500; "-500", "0", "几千", "all" -> None.
    """
    s = _clean(text)
    if not s or _NEGATIVE.search(s):
        return None
    s = _AMOUNT_FILLER.sub(" ", _CURRENCY.sub(" ", s))
    s = re.sub(r"\s+", " ", s).strip()
    value = _number(s)
    if value is None or not 0 < value <= _MAX_AMOUNT:
        return None  # nothing, or too much to be a payment (a phone number in the slot)
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else None  # finer than a cent is not money


# Chinese amounts written with digits and a scale, the digit after it a tenth of the scale: 3千5
# is 3500, 1万2 12000. The NLU may split one ("3千" read as a day, "5" as the amount), and
# no day is written so: the whole expression is the amount.
_SCALED_DIGITS = re.compile(r"\d+(?:\.\d+)?[千万](?:\d(?![\d.]))?")


def amount_in(text: str, amounts: Any, dates: Any) -> tuple[Any, Any]:
    """The amount and the day the NLU read in `text` (each a value, a list of them or None),
    with a scaled amount it split taken whole: ("5", ["下个月15号", "3千"]) in "下个月15号还3千5"
    is ("3千5", "下个月15号"). Anything else comes back as it was."""
    found = [str(v) for v in _values(amounts)]
    spans = [m.group(0) for m in _SCALED_DIGITS.finditer(_clean(text).replace(" ", ""))]
    spans = [span for span in spans if parse_amount(span) is not None]
    if found:
        whole = next((s for s in spans if any(p != s and p in s for p in found)), None)
    else:
        whole = spans[0] if len(spans) == 1 else None
    if whole is None:
        return amounts, dates
    days = [str(v) for v in _values(dates) if str(v) not in whole]
    return whole, (days[0] if len(days) == 1 else days or None)


def _values(value: Any) -> list[Any]:
    """A slot filled from entities: one value, a list of them (several in one message), or None."""
    if value is None:
        return []
    return [v for v in value if v] if isinstance(value, list) else [value]


_FIGURE = re.compile(
    rf"\d|[{_CN_DIGITS}]|\b(?:{'|'.join([*_UNITS, *_TENS, 'hundred', 'thousand'])})\b"
)


_NO_FIGURE = re.compile(
    r"一部分|一些|一点儿?|一半|一次|一下|\b(?:a|one) (?:bit|little|part|half)\b"
)


def has_figure(text: str) -> bool:
    """Whether the text names a number at all: "some", 一部分 and "a bit" do not, so they are
    not a misread amount but no amount yet."""
    return bool(_FIGURE.search(_NO_FIGURE.sub("", _clean(text))))


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3}
_ORDINALS |= {"4th": 4, "last": -1, "最后": -1}
_CHOICE_FILLER = re.compile(
    r"^(?:我选|我要|选择?|要|就|(?:the )?(?:option|offer|plan|number|no\.?|#)|方案|第)\s*|"
    r"\s*(?:个|种|项|号|吧|one|option|offer|plan|please)$"
)


def parse_choice(text: str, shown: int) -> int | None:
    """Which of `shown` numbered offers the text picks, from 1: "2", "#2", "option 2", "the
    second one", 第二个, 方案二, "last"; None when it picks none of them."""
    s = _clean(text)
    for _ in range(3):
        s = _CHOICE_FILLER.sub("", s).strip()
    s = s.removeprefix("the ").strip()
    picked = _ORDINALS.get(s)
    if picked is None:
        picked = _whole(s)
    if picked == -1:
        picked = shown
    return picked if picked is not None and 1 <= picked <= shown else None


# -- numbers of months ------------------------------------------------------------------------

_TERM_FILLER = re.compile(
    r"^(?:我想|我要|想|要|分成|分|还|\bsplit into\b|\bdivided into\b|\bover\b|\bin\b|\bfor\b)\s*"
)
_TERM_TAIL = re.compile(r"\s*(?:吧|啊|呢|就行|好了|可以吗|行吗|please)$")
_TERM = re.compile(
    r"(.+?)\s*(?:期|个月|個月|月|months?|mos?|installments?|instalments?|payments?|parts?)"
)
_TERM_YEARS = re.compile(r"(.+?)\s*(?:个?年|years?)")


def parse_term_months(text: str) -> int | None:
    """A number of months or installments from 1 to 60: 6期, 三个月, 12个月, "6 months",
    "12 installments", "three months", 半年 -> 6, 一年 -> 12, or a bare number (the answer to
    "how many months?"). Ranges and vague answers -> None."""
    s = _clean(text)
    for _ in range(3):
        s = _TERM_TAIL.sub("", _TERM_FILLER.sub("", s)).strip()
    if s in ("半年", "half a year", "six months"):
        return 6
    if m := _TERM.fullmatch(s):
        months = _whole(m.group(1))
    elif m := _TERM_YEARS.fullmatch(s):
        years = 1 if m.group(1) in ("a", "an") else _whole(m.group(1))
        months = None if years is None else 12 * years
    else:
        months = _whole(s)
    return months if months is not None and 1 <= months <= 60 else None


_TERM_IN = re.compile(
    r"(?:\d{1,2}|[一二两三四五六七八九十]{1,3})\s*(?:期|个月|個月|months?|installments?|"
    r"instalments?|payments?|parts?)(?![a-z])"
)


def term_asked(text: str, entity: Any = None) -> int | None:
    """The number of months a request names ("分6期", "can I split it into 3 payments", the
    NLU's term_months entity), or None: none, or more than one."""
    if entity is not None:
        found = [parse_term_months(str(v)) for v in _values(entity)]
        months = {m for m in found if m is not None}
        if len(months) == 1:
            return months.pop()
    named = {parse_term_months(m.group(0)) for m in _TERM_IN.finditer(_clean(text))}
    named.discard(None)
    return named.pop() if len(named) == 1 else None


# -- dates ------------------------------------------------------------------------------------

_UNKNOWN_DAY = re.compile(
    r"发工资|发薪|工资|薪水|薪资|出粮|有钱|过几天|几天|过段时间|过一阵|改天|再说|不知道|不确定|"
    r"说不准|不一定|到时候|pay\s?day|salary|pay\s?check|paycheque|get paid|\bsoon\b|"
    r"some\s?time|\basap\b|when i can|not sure|don'?t know|few days|couple of days"
)
_VAGUE = re.compile(
    r"(?:下个?|这个?|本)(?:周|星期|礼拜|月)|(?:next|this) (?:week|month)|下下个?(?:周|星期|礼拜)"
)
_PAST = re.compile(r"昨|前天|上个?(?:周|星期|礼拜|月)|去年|已经|\bago\b|yesterday|\blast\b")
_LEAD = re.compile(
    r"^(?:我|会|在|大概|应该|可能|可以|能|争取|最晚|最迟|等到|到|就|于|"
    r"(?:on|by|before|until|till|around|about|maybe|probably|"
    r"i will pay|i'll pay|i can pay|pay)\b)\s*"
)
_TRAIL = re.compile(
    r"\s*(?:之前|以前|前后|左右|吧|啊|呢|的|时候|还款|还钱|还清|还上|还|付款|付清|付|给你|转账|"
    r"早上|早晨|上午|中午|下午|傍晚|晚上|夜里|凌晨|\d{1,2}\s*[点:]\s*(?:\d{1,2}分?|半)?|"
    r"[一二三四五六七八九十]{1,3}点半?|"
    r"\b(?:at the latest|latest|or so|in the morning|in the afternoon|in the evening|"
    r"morning|afternoon|evening|night|noon)|(?:at )?\d{1,2}(?::\d{2})?\s*(?:am|pm))$"
)
_BEFORE = re.compile(r"((?:周|星期|礼拜)[一二三四五六日天]|[号日底末])前$")

_DAY_WORDS = {"今天": 0, "今日": 0, "今晚": 0, "今儿": 0, "today": 0, "tonight": 0}
_DAY_WORDS |= {"明天": 1, "明日": 1, "明儿": 1, "tomorrow": 1, "tmr": 1, "tmrw": 1, "tmw": 1}
_DAY_WORDS |= {"后天": 2, "day after tomorrow": 2, "the day after tomorrow": 2, "大后天": 3}
_ZH_WEEKDAY = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6}
_ZH_WEEKDAY |= {str(i + 1): i for i in range(7)}
# Spelt out rather than taken from `calendar`, whose names follow the process locale.
_EN_WEEKDAY = _numbered("monday tuesday wednesday thursday friday saturday sunday")
_EN_WEEKDAY |= {d[:3]: i for d, i in list(_EN_WEEKDAY.items())} | {"tues": 1, "thur": 3, "thurs": 3}
_EN_MONTH = _numbered(
    "january february march april may june july august september october november december", 1
)
_EN_MONTH |= {m[:3]: i for m, i in list(_EN_MONTH.items())} | {"sept": 9}

_N = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"
_TH = r"(\d{1,2})(?:st|nd|rd|th)"
_WD_EN = "|".join(sorted(_EN_WEEKDAY, key=len, reverse=True))
_MON_EN = "|".join(sorted(_EN_MONTH, key=len, reverse=True))

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], "date | None"]]


def parse_date(text: str, today: date) -> date | None:
    """A calendar day, or None when the text does not name one for certain.

    A day named without its month or week is the next such day, today included (15号, "the
    20th", 这个月25号, 周五); 月底 / "end of the month" is the month's last day; 下周五 and
    "next friday" are in next calendar week. An expression that itself says past (昨天,
    "yesterday") keeps its past date; "payday", 发工资那天, 下周, "next week" -> None.
    """
    s = _clean(text)
    if not s or _UNKNOWN_DAY.search(s):
        return None
    s = _strip(s)
    if s in _DAY_WORDS:
        return today + timedelta(days=_DAY_WORDS[s])
    for pattern, resolve in _RULES:
        if m := pattern.fullmatch(s):
            return resolve(m, today)
    if _VAGUE.fullmatch(s) or not re.search(r"[a-z\u4e00-\u9fff]", s):
        return None  # "next week", a bare number: ask which day
    found = (
        _jionlp_date(s, today) if re.search(r"[\u4e00-\u9fff]", s) else _dateparser_date(s, today)
    )
    if found is not None and found < today and not _PAST.search(s):
        return None  # the libraries' past for a day the borrower meant ahead: ask again
    return found


def _strip(s: str) -> str:
    """Drop what surrounds the day: 我会在…之前还, "by … at the latest", times of day."""
    for _ in range(6):
        before = s
        s = _BEFORE.sub(r"\1", _TRAIL.sub("", _LEAD.sub("", s))).strip()
        if s == before:
            break
    return s


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _month_end(today: date, months_ahead: int) -> date:
    y, m = _add_months(today, months_ahead)
    return date(y, m, calendar.monthrange(y, m)[1])


def _next_day_of_month(day: int | None, today: date) -> date | None:
    """The next `day`th of a month, today included (the 31st skips shorter months)."""
    if day is None or not 1 <= day <= 31:
        return None
    for ahead in range(13):
        y, m = _add_months(today, ahead)
        if day <= calendar.monthrange(y, m)[1] and date(y, m, day) >= today:
            return date(y, m, day)
    return None


def _day_in(y: int, m: int | None, d: int | None) -> date | None:
    try:
        return date(y, m or 0, d or 0)
    except ValueError:
        return None


def _next_month_day(month: int | None, day: int | None, today: date) -> date | None:
    """This year's month and day, or next year's once it has passed."""
    this_year = _day_in(today.year, month, day)
    if this_year is not None and this_year >= today:
        return this_year
    return _day_in(today.year + 1, month, day)


def _day_month_either(a: int, b: int, today: date) -> date | None:
    """3/12 or 12/3: day/month and month/day read both ways; the reading within a month
    wins when the other is further off, else ask again."""
    readings = {r for r in (_next_month_day(b, a, today), _next_month_day(a, b, today)) if r}
    if len(readings) == 1:
        return readings.pop()
    near, far = sorted(readings) if readings else (None, None)
    if near and far and (near - today).days <= 31 < (far - today).days:
        return near
    return None


def _weekday(which: str | None, weekday: int, today: date) -> date:
    """下周五 / "next friday": in next calendar week (Monday first); 下下周: the week after;
    otherwise (周五, 这周五, "this friday") the next such day, today included."""
    which = (which or "").strip()
    if which.startswith("下下"):
        weeks = 2
    elif which.startswith("下") or which == "next":
        weeks = 1
    else:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks, days=weekday)


def _weekend(which: str | None, today: date) -> date:
    """周末 / "the weekend": this week's Sunday (today on a Sunday); 下周末: next week's."""
    weeks = 1 if (which or "").strip() in ("下", "下个", "next") else 0
    return today + timedelta(days=6 - today.weekday(), weeks=weeks)


def _after(n: str, unit: str, today: date) -> date | None:
    count = 1 if n in ("a", "an") else _whole(n)
    if count is None or not 0 < count <= 366:
        return None
    weeks = unit.startswith(("周", "星期", "礼拜", "个星期", "个礼拜", "week"))
    return today + timedelta(days=count * 7 if weeks else count)


_RULES: list[_Rule] = [
    # 2026-12-05, 2026/12/5, 2026年12月5日
    (
        re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"),
        lambda m, t: _day_in(int(m[1]), int(m[2]), int(m[3])),
    ),
    # 3天后, 两周后, 一个星期以后
    (
        re.compile(r"(\S{1,4}?)\s*(天|日|个?星期|个?礼拜|周)(?:后|以后|之后)"),
        lambda m, t: _after(m[1], m[2], t),
    ),
    # in 3 days, in a week, within two weeks, 3 days later, 2 weeks from now
    (
        re.compile(r"(?:in|after|within) (\S+(?: \S+)?) (days?|weeks?)"),
        lambda m, t: _after(m[1], m[2], t),
    ),
    (
        re.compile(r"(\S+(?: \S+)?) (days?|weeks?) (?:later|from now|from today)"),
        lambda m, t: _after(m[1], m[2], t),
    ),
    # 月底, 这个月底, 本月末, "end of the month"; 下个月底, "end of next month"
    (
        re.compile(
            r"(?:这个?|本|当)?月(?:底|末|尾)|(?:the )?end of (?:the |this )?month|month[ -]?end|eom"
        ),
        lambda m, t: _month_end(t, 0),
    ),
    (
        re.compile(r"下个?月(?:底|末|尾)|(?:the )?end of next month"),
        lambda m, t: _month_end(t, 1),
    ),
    # 下个月5号, "the 5th of next month", "next month on the 5th"
    (
        re.compile(rf"下个?月\s*{_N}\s*[号日]?"),
        lambda m, t: _day_in(*_add_months(t, 1), _whole(m[1])),
    ),
    (
        re.compile(rf"(?:the )?{_TH} (?:of )?next month|next month (?:on )?(?:the )?{_TH}"),
        lambda m, t: _day_in(*_add_months(t, 1), int(m[1] or m[2])),
    ),
    # 15号, 十五号, 这个月25号, "the 20th", "the 20th of this month": the next such day
    (
        re.compile(rf"(?:(?:这个?|本|当)月\s*)?{_N}\s*[号日]"),
        lambda m, t: _next_day_of_month(_whole(m[1]), t),
    ),
    (
        re.compile(rf"(?:the )?{_TH}(?: of (?:the|this) month)?"),
        lambda m, t: _next_day_of_month(int(m[1]), t),
    ),
    # 12月3号, 十二月三日, "dec 3", "3rd of december": this year's, or next year's once past
    (
        re.compile(rf"{_N}\s*月\s*{_N}\s*[号日]?"),
        lambda m, t: _next_month_day(_whole(m[1]), _whole(m[2]), t),
    ),
    (
        re.compile(rf"({_MON_EN})\.? (\d{{1,2}})(?:st|nd|rd|th)?"),
        lambda m, t: _next_month_day(_EN_MONTH[m[1]], int(m[2]), t),
    ),
    (
        re.compile(rf"(?:the )?(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MON_EN})\.?"),
        lambda m, t: _next_month_day(_EN_MONTH[m[2]], int(m[1]), t),
    ),
    # 3/12, 12/3
    (
        re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})"),
        lambda m, t: _day_month_either(int(m[1]), int(m[2]), t),
    ),
    # 周末, 下周末, "this weekend"
    (
        re.compile(r"(下个?|这个?|本)?\s*周末|(?:(this|next|the) )?weekend"),
        lambda m, t: _weekend(m[1] or m[2], t),
    ),
    # 周五, 星期五, 这周五, 下周五, 下下周一, "friday", "this friday", "next friday"
    (
        re.compile(r"(下下个?|下个?|这个?|本)?\s*(?:周|星期|礼拜)\s*([一二三四五六日天1-7])"),
        lambda m, t: _weekday(m[1], _ZH_WEEKDAY[m[2]], t),
    ),
    (
        re.compile(rf"(?:(this coming|this|next|coming) )?({_WD_EN})"),
        lambda m, t: _weekday(m[1], _EN_WEEKDAY[m[2]], t),
    ),
    # "last friday": the latest one before today (上周五 is jionlp's)
    (
        re.compile(rf"last ({_WD_EN})"),
        lambda m, t: t - timedelta(days=(t.weekday() - _EN_WEEKDAY[m[1]] - 1) % 7 + 1),
    ),
]


@cache
def _jionlp() -> Any:
    # jionlp (and jiojio under it) print a banner on import: keep it out of the action log.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import jionlp

    return jionlp


def _jionlp_date(s: str, today: date) -> date | None:
    """One accurate day (or the end of an accurate span, 下周三前) from jionlp; else None."""
    base = {"year": today.year, "month": today.month, "day": today.day, "hour": 12}
    try:
        found = _jionlp().parse_time(s, time_base=base)
    except Exception:  # jionlp raises assorted errors on text it cannot read: not a date
        return None
    if not isinstance(found, dict) or found.get("definition") != "accurate":
        return None
    try:
        start, end = found["time"]
        first, last = date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10])
    except (KeyError, TypeError, ValueError):
        return None  # an open span such as "-inf", or a shape it has not answered before
    if found.get("type") == "time_point":
        return first if first == last else None
    return last if found.get("type") == "time_span" else None


def _dateparser_date(s: str, today: date) -> date | None:
    """One day from dateparser (English); a week, month or year ("december") -> None."""
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, datetime.min.time()).replace(hour=12),
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    data = parser.get_date_data(s)
    if not isinstance(data.date_obj, datetime) or data.period not in ("day", "time"):
        return None
    return data.date_obj.date()


# -- spans: a week or a month named without its day -----------------------------------------


@dataclass(frozen=True)
class Span:
    """ "next week", 下个月: the days it covers, kept while the assistant asks which one."""

    kind: str  # week or month
    ahead: int  # 0 this one, 1 the next, 2 the one after
    first: date
    last: date

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ahead}:{self.first.isoformat()}:{self.last.isoformat()}"

    @classmethod
    def from_key(cls, key: str) -> Span | None:
        try:
            kind, ahead, first, last = str(key).split(":")
            return cls(kind, int(ahead), date.fromisoformat(first), date.fromisoformat(last))
        except ValueError:
            return None


_SPANS = [
    (re.compile(r"下下个?(?:周|星期|礼拜)|(?:the )?week after next"), "week", 2),
    (re.compile(r"下个?(?:周|星期|礼拜)(?![一二三四五六日天1-7末])|next week"), "week", 1),
    (re.compile(r"(?:这个?|本)(?:周|星期|礼拜)(?![一二三四五六日天1-7末])|this week"), "week", 0),
    (re.compile(r"下个?月(?![底末尾初\d一二三四五六七八九十])|next month(?! on)"), "month", 1),
    (re.compile(r"(?:这个?|本)月(?![底末尾\d一二三四五六七八九十])|this month"), "month", 0),
]


def find_span(text: str, today: date) -> Span | None:
    """The week or month a message names without naming its day ("can I pay some next week",
    下个月吧), counted from `today`; None when it names a day, or no span."""
    s = _clean(text)
    found = next(((kind, ahead) for p, kind, ahead in _SPANS if p.search(s)), None)
    if found is None or parse_date(s, today) is not None:  # the date libraries only if needed
        return None
    kind, ahead = found
    if kind == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=ahead)
        return Span(kind, ahead, max(monday, today), monday + timedelta(days=6))
    y, m = _add_months(today, ahead)
    return Span(kind, ahead, max(date(y, m, 1), today), _month_end(today, ahead))


_IN_WEEK_ZH = re.compile(r"(?:周|星期|礼拜)\s*([一二三四五六日天1-7])|([一二三四五六日])")
_IN_MONTH = re.compile(rf"(?:the )?{_N}\s*(?:[号日]|st|nd|rd|th)?")


def parse_date_in(text: str, span: Span, today: date) -> date | None:
    """The answer to "which day next week?" / 下个月几号？: a weekday or a day of the month
    inside the span; any other day the borrower names (明天, "dec 20") as parse_date reads it."""
    s = _strip(_clean(text))
    day: date | None = None
    if span.kind == "week":
        monday = span.last - timedelta(days=6)
        if m := _IN_WEEK_ZH.fullmatch(s):
            day = monday + timedelta(days=_ZH_WEEKDAY[m[1] or m[2]])
        elif s in _EN_WEEKDAY:
            day = monday + timedelta(days=_EN_WEEKDAY[s])
    elif m := _IN_MONTH.fullmatch(s):
        day = _day_in(span.last.year, span.last.month, _whole(m[1]))
    if day is not None:
        return day if span.first <= day <= span.last else None
    return parse_date(text, today)
