"""Amounts, dates and numbers of months as borrowers write them, in both languages, against a
fixed base date: Saturday 2026-11-28. None means "ask again", never a guess."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from actions.normalise import (
    Span,
    amount_in,
    find_span,
    has_figure,
    parse_amount,
    parse_choice,
    parse_date,
    parse_date_in,
    parse_term_months,
    term_asked,
)

TODAY = date(2026, 11, 28)  # a Saturday
assert TODAY.weekday() == 5


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


AMOUNTS: list[tuple[str, str | None]] = [
    # Chinese numerals, colloquial: 两千五 is 2500, not 2005
    ("两千五", "2500"),
    ("五千块", "5000"),
    ("一千二", "1200"),
    ("三千二百五十", "3250"),
    ("一万", "10000"),
    ("1万5", "15000"),
    ("1.5万", "15000"),
    ("五百块钱", "500"),
    ("三百五十点五", "350.50"),
    ("我先还五百", "500"),
    ("大概两千左右", "2000"),
    ("1,500元", "1500"),
    ("￥800", "800"),
    ("１５００", "1500"),  # full-width digits
    # English and digits
    ("500", "500"),
    ("2,500.50", "2500.50"),
    ("5k", "5000"),
    ("1.5k", "1500"),
    ("$300", "300"),
    ("S$300", "300"),
    ("300 SGD", "300"),
    ("RMB 800", "800"),
    ("2500 yuan", "2500"),
    ("2500yuan", "2500"),
    ("five hundred", "500"),
    ("twenty-five", "25"),
    ("two thousand five hundred", "2500"),
    ("about 1000 dollars", "1000"),
    # refused: ask again
    ("", None),
    ("garbage", None),
    ("-500", None),
    ("负五百", None),
    ("minus 500", None),
    ("0", None),
    ("几千", None),
    ("一两千", None),
    ("all of it", None),
    ("12.345", None),  # finer than a cent
    ("13800138001", None),  # a phone number in the amount slot
    ("1 500", None),
]

TERMS: list[tuple[str, int | None]] = [
    ("6期", 6),
    ("分6期", 6),
    ("十二期", 12),
    ("三个月", 3),
    ("12个月", 12),
    ("半年", 6),
    ("一年", 12),
    ("6期吧", 6),
    ("6 months", 6),
    ("12 installments", 12),
    ("three months", 3),
    ("over 12 months", 12),
    ("a year", 12),
    ("6", 6),
    ("six", 6),
    ("3到6个月", None),
    ("0", None),
    ("100", None),
    ("a few months", None),
    ("", None),
]

DATES: list[tuple[str, date | None]] = [
    # Chinese: relative days
    ("今天", d(11, 28)),
    ("今晚", d(11, 28)),
    ("明天", d(11, 29)),
    ("明天下午", d(11, 29)),
    ("后天", d(11, 30)),
    ("大后天", d(12, 1)),
    ("3天后", d(12, 1)),
    ("三天后", d(12, 1)),
    ("一周后", d(12, 5)),
    ("两周后", d(12, 12)),
    ("一个星期后", d(12, 5)),
    # Chinese: weekdays (下周 is next calendar week, Monday first)
    ("下周五", d(12, 4)),
    ("下周一", d(11, 30)),
    ("下下周一", d(12, 7)),
    ("周五", d(12, 4)),
    ("星期五", d(12, 4)),
    ("礼拜五", d(12, 4)),
    ("这周五", d(12, 4)),  # already past this week: the next one
    ("周六", d(11, 28)),  # today
    ("星期天", d(11, 29)),
    ("周末", d(11, 29)),
    ("下周末", d(12, 6)),
    ("下周三前", d(12, 2)),
    ("周五前", d(12, 4)),
    ("我下周五还", d(12, 4)),
    ("下周五之前", d(12, 4)),
    # Chinese: days of the month, the future preferred (today included)
    ("15号", d(12, 15)),
    ("十五号", d(12, 15)),
    ("28号", d(11, 28)),
    ("30号", d(11, 30)),
    ("1号", d(12, 1)),
    ("31号", d(12, 31)),  # November has no 31st
    ("这个月25号", d(12, 25)),
    ("这个月30号", d(11, 30)),
    ("下个月5号", d(12, 5)),
    ("下月5号", d(12, 5)),
    ("月底", d(11, 30)),
    ("这个月底", d(11, 30)),
    ("本月底", d(11, 30)),
    ("月末", d(11, 30)),
    ("月底前", d(11, 30)),
    ("下个月底", d(12, 31)),
    ("12月3号", d(12, 3)),
    ("十二月三号", d(12, 3)),
    ("1月5号", d(1, 5, 2027)),
    ("11月20号", d(11, 20, 2027)),
    ("2026年12月5日", d(12, 5)),
    ("昨天", d(11, 27)),  # says past itself: kept
    # English
    ("today", d(11, 28)),
    ("tonight", d(11, 28)),
    ("tomorrow", d(11, 29)),
    ("tmr", d(11, 29)),
    ("tomorrow afternoon", d(11, 29)),
    ("day after tomorrow", d(11, 30)),
    ("in 3 days", d(12, 1)),
    ("in three days", d(12, 1)),
    ("3 days later", d(12, 1)),
    ("in a week", d(12, 5)),
    ("in 2 weeks", d(12, 12)),
    ("next friday", d(12, 4)),
    ("Friday!", d(12, 4)),
    ("this friday", d(12, 4)),
    ("by friday", d(12, 4)),
    ("friday 3pm", d(12, 4)),
    ("next monday", d(11, 30)),
    ("saturday", d(11, 28)),
    ("sunday", d(11, 29)),
    ("this weekend", d(11, 29)),
    ("the 20th", d(12, 20)),
    ("20th", d(12, 20)),
    ("on the 15th", d(12, 15)),
    ("the 28th", d(11, 28)),
    ("the 1st", d(12, 1)),
    ("the 5th of next month", d(12, 5)),
    ("end of the month", d(11, 30)),
    ("by the end of this month", d(11, 30)),
    ("end of next month", d(12, 31)),
    ("Dec 3", d(12, 3)),
    ("3 Dec", d(12, 3)),
    ("December 3rd", d(12, 3)),
    ("3rd of december", d(12, 3)),
    ("jan 5", d(1, 5, 2027)),
    ("3/12", d(12, 3)),  # day/month and month/day: only 3 December is near
    ("12/3", d(12, 3)),
    ("2026-12-05", d(12, 5)),
    ("yesterday", d(11, 27)),
    ("last friday", d(11, 27)),
    # unknown or vague: ask again, never guess
    ("发工资那天", None),
    ("发工资的时候", None),
    ("等我有钱", None),
    ("过几天", None),
    ("下周", None),
    ("下个月", None),
    ("下午三点", None),
    ("2月30号", None),
    ("payday", None),
    ("on payday", None),
    ("when I get paid", None),
    ("soon", None),
    ("next week", None),
    ("next month", None),
    ("december", None),
    ("5/6", None),  # 5 June or 6 May, both months away
    ("15", None),  # a bare number: a day or an amount?
    ("blah", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNTS, ids=[t or "<empty>" for t, _ in AMOUNTS])
def test_parse_amount(text: str, expected: str | None) -> None:
    assert parse_amount(text) == (None if expected is None else Decimal(expected))


def test_amounts_have_cents() -> None:
    assert str(parse_amount("两千五")) == "2500.00"


@pytest.mark.parametrize(("text", "expected"), TERMS, ids=[t or "<empty>" for t, _ in TERMS])
def test_parse_term_months(text: str, expected: int | None) -> None:
    assert parse_term_months(text) == expected


@pytest.mark.parametrize(("text", "expected"), DATES, ids=[t or "<empty>" for t, _ in DATES])
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, TODAY) == expected


def test_end_of_month_on_its_last_day_is_today() -> None:
    assert parse_date("月底", date(2026, 11, 30)) == date(2026, 11, 30)
    assert parse_date("end of the month", date(2027, 2, 28)) == date(2027, 2, 28)


def test_next_calendar_week_from_a_monday() -> None:
    monday = date(2026, 11, 23)
    assert parse_date("下周五", monday) == date(2026, 12, 4)
    assert parse_date("周五", monday) == date(2026, 11, 27)


# -- partial answers: no amount yet, a week or month without its day, an offer by its number --


@pytest.mark.parametrize("text", ["some", "a bit", "一部分", "一些", "一半", "part of it"])
def test_words_without_a_figure_are_no_amount_yet(text: str) -> None:
    assert not has_figure(text) and parse_amount(text) is None


@pytest.mark.parametrize("text", ["5 or 6 hundred", "两千多", "1500ish", "five hundred-ish"])
def test_a_figure_that_cannot_be_read_is_a_misread_amount(text: str) -> None:
    assert has_figure(text) and parse_amount(text) is None


SPANS = [
    ("can I pay some next week", "week", d(11, 30), d(12, 6)),
    ("下周吧", "week", d(11, 30), d(12, 6)),
    ("下下周", "week", d(12, 7), d(12, 13)),
    ("this week", "week", d(11, 28), d(11, 29)),  # from today, a Saturday
    ("下个月", "month", d(12, 1), d(12, 31)),
    ("next month", "month", d(12, 1), d(12, 31)),
    ("这个月", "month", d(11, 28), d(11, 30)),
]


@pytest.mark.parametrize(("text", "kind", "first", "last"), SPANS)
def test_a_week_or_month_without_its_day_is_a_span(
    text: str, kind: str, first: date, last: date
) -> None:
    span = find_span(text, TODAY)
    assert span is not None and (span.kind, span.first, span.last) == (kind, first, last)
    assert Span.from_key(span.key) == span


@pytest.mark.parametrize("text", ["下周五", "next friday", "下个月5号", "月底", "tomorrow", "2000"])
def test_a_named_day_or_no_time_is_no_span(text: str) -> None:
    assert find_span(text, TODAY) is None


IN_SPANS = [
    ("next week", "friday", d(12, 4)),
    ("next week", "fri", d(12, 4)),
    ("下周", "周三", d(12, 2)),
    ("下周", "五", d(12, 4)),
    ("下周", "tomorrow", d(11, 29)),  # another day named outright is taken as said
    ("下周", "3", None),  # a bare number in a week: which day is not certain
    ("下个月", "15号", d(12, 15)),
    ("下个月", "15", d(12, 15)),
    ("next month", "the 20th", d(12, 20)),
    ("下个月", "32", None),
]


@pytest.mark.parametrize(("named", "answer", "expected"), IN_SPANS)
def test_the_day_inside_a_span(named: str, answer: str, expected: date | None) -> None:
    span = find_span(named, TODAY)
    assert span is not None
    assert parse_date_in(answer, span, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "picked"),
    [
        ("2", 2),
        ("#2", 2),
        ("option 2", 2),
        ("the second one", 2),
        ("第二个", 2),
        ("方案二", 2),
        ("我选第一个", 1),
        ("last", 4),
        ("5", None),
        ("2000", None),
        ("yes", None),
    ],
)
def test_an_offer_picked_by_its_number(text: str, picked: int | None) -> None:
    assert parse_choice(text, 4) == picked


# -- an amount the NLU split: 3千5 read as "3千" (a day) and "5" (the amount) --

SPLIT = [
    (("我下个月15号还3千5", "5", ["下个月15号", "3千"]), ("3千5", "下个月15号")),
    (("我15号还1万2", "1万", "15号"), ("1万2", "15号")),
    (("3千5", "5", "3千"), ("3千5", None)),
    (("3千5吧", None, None), ("3千5", None)),
    # read whole already, or nothing split: as the NLU read it
    (("我下周五还两千五", "两千五", "下周五"), ("两千五", "下周五")),
    (("我还1.5万", "1.5万", None), ("1.5万", None)),
    (("我明天还5", "5", "明天"), ("5", "明天")),
    (("先还3千，剩下1万月底还", "3千", "月底"), ("3千", "月底")),
    (("3千或者1万", None, None), (None, None)),  # two amounts and no entity: not guessed
]


@pytest.mark.parametrize(("said", "expected"), SPLIT, ids=[s[0] for s, _ in SPLIT])
def test_an_amount_the_nlu_split_is_taken_whole(
    said: tuple[str, object, object], expected: tuple[object, object]
) -> None:
    assert amount_in(*said) == expected
    assert parse_amount(str(expected[0])) is not None or expected[0] is None


TERMS_ASKED = [
    (("能分6期吗", None), 6),
    (("can I split it into 3 payments", None), 3),
    (("分三期行不行", None), 3),
    (("I want 12 months", None), 12),
    (("anything", "6期"), 6),  # the NLU's term_months entity
    (("can i pay in installments", None), None),
    (("可以分几期还吗", None), None),
    (("分6期或者12期", None), None),  # two: not guessed between
    (("我15号还3千5", None), None),
]


@pytest.mark.parametrize(("said", "months"), TERMS_ASKED, ids=[s[0] for s, _ in TERMS_ASKED])
def test_the_months_a_request_names(said: tuple[str, object], months: int | None) -> None:
    assert term_asked(*said) == months
