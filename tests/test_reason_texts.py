"""The backend's reasons reach a borrower in the borrower's language: every code the backend
gives, with its figures, has its words in both languages in the assistant (actions/messages.py),
and the Chinese words are Chinese. (actions/messages.py is plain Python: it loads here.)"""

from __future__ import annotations

import re
import string
from datetime import date

import pytest

from actions.messages import TEXTS, why
from backend.outbound import texts as backend_texts
from backend.plans.order import FIRST_BECAUSE
from backend.plans.rules import NOT_OFFERED_CODES
from backend.promises.rules import PromiseRefused, PromiseWindow, check_new_promise

_ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def chinese_only(text: str, *, currency: str = "CNY") -> bool:
    return not [w for w in _ENGLISH_WORD.findall(text) if w != currency]


@pytest.mark.parametrize("code", sorted(NOT_OFFERED_CODES))
def test_every_reason_not_to_offer_a_plan_is_said_in_both_languages(code: str) -> None:
    by_language = TEXTS[f"why_not.{code}"]
    assert set(by_language) == {"zh", "en"}
    for text in by_language.values():
        assert fields(text) <= set(NOT_OFFERED_CODES[code]), code
    sample = {name: 7 for name in NOT_OFFERED_CODES[code]}
    assert chinese_only(why("zh", "why_not", code, sample))


def figures_of(code: str) -> set[str]:
    return fields(FIRST_BECAUSE[code]) | {"cur"}


@pytest.mark.parametrize("code", sorted(FIRST_BECAUSE))
def test_why_the_first_offer_is_first_is_said_in_both_languages(code: str) -> None:
    # by the assistant, and in the collector's presentation of the offers
    for by_language in (
        TEXTS[f"first_because.{code}"],
        backend_texts.TEXTS[f"first_because.{code}"],
    ):
        assert set(by_language) == {"zh", "en"}
        for text in by_language.values():
            assert fields(text) <= figures_of(code), code
    sample = {name: 7 for name in figures_of(code)} | {"cur": "CNY"}
    assert chinese_only(why("zh", "first_because", code, sample))
    assert chinese_only(backend_texts.first_because("zh", code, **sample))


def test_an_unknown_reason_or_a_missing_figure_is_still_the_borrowers_language() -> None:
    assert why("zh", "why_not", "something_new") == TEXTS["why_not"]["zh"]
    assert why("en", "why_not", "dpd_outside_window", {}) == TEXTS["why_not"]["en"]


WINDOW = PromiseWindow(
    currency="CNY",
    earliest=date(2026, 11, 29),
    latest=date(2026, 12, 13),
    minimum=45_236,
    maximum=1_241_533,
    overdue=226_179,
)
REFUSED = {
    "promise_date_in_past": (WINDOW, 50_000, date(2026, 11, 28)),
    "promise_beyond_window": (WINDOW, 50_000, date(2026, 12, 14)),
    "promise_below_minimum": (WINDOW, 100, date(2026, 12, 1)),
    "promise_above_balance": (WINDOW, 9_999_999, date(2026, 12, 1)),
    "promise_nothing_owed": (
        PromiseWindow("CNY", WINDOW.earliest, WINDOW.latest, 0, 0, 0),
        100,
        date(2026, 12, 1),
    ),
}


# What each refusal shows the borrower, of the figures the backend gives: the window's `days`
# (beyond_window) is not shown, the dates it spans say it better.
SHOWN = {
    "promise_date_in_past": {"promised_date", "earliest", "latest"},
    "promise_beyond_window": {"promised_date", "earliest", "latest"},
    "promise_below_minimum": {"amount", "currency", "minimum"},
    "promise_above_balance": {"amount", "currency", "maximum"},
    "promise_nothing_owed": set(),
}
_TOKEN = re.compile(r"[0-9](?:[0-9.-]*[0-9])?|[A-Za-z]+")


def tokens(text: str) -> set[str]:
    """The figures and words of a message, whole: "2026-12-14" is one, and 14 is not in it."""
    return set(_TOKEN.findall(text))


def test_a_figure_is_found_whole() -> None:
    said = "2026-12-14 超出了可以约定的日期，最多 12415.33 CNY。"
    assert {"2026-12-14", "12415.33", "CNY"} <= tokens(said)
    assert not {"14", "12", "2026", "12415", "CN"} & tokens(said)


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_a_refused_promise_is_said_with_its_figures_in_both_languages(code: str) -> None:
    allowed, amount, day = REFUSED[code]
    with pytest.raises(PromiseRefused) as refused:
        check_new_promise(allowed, amount=amount, promised_date=day)
    assert refused.value.code == code
    params = refused.value.params
    assert SHOWN[code] <= set(params), code
    for lang in ("zh", "en"):
        assert fields(TEXTS[f"promise_refused.{code}"][lang]) == SHOWN[code], (code, lang)
        said = why(lang, "promise_refused", code, params)
        assert said != TEXTS["promise_refused"][lang]
        for name in SHOWN[code]:
            assert str(params[name]) in tokens(said), (code, lang, name, said)
    assert chinese_only(why("zh", "promise_refused", code, params))


def test_an_open_promise_and_a_refused_payment_link_too() -> None:
    params = {"amount": "500.00", "currency": "CNY", "promised_date": "2026-12-04"}
    zh = why("zh", "promise_refused", "promise_already_open", params)
    assert "500.00" in zh and "2026-12-04" in zh and chinese_only(zh)
    link = {"amount": "20000.00", "payoff": "12415.33", "currency": "CNY"}
    zh = why("zh", "link_refused", "amount_above_payoff", link)
    assert "12415.33" in zh and chinese_only(zh)
    assert chinese_only(why("zh", "link_refused", "nothing_to_pay"))
    for lang in ("zh", "en"):  # no provider: its own words, not "here is a link"
        unavailable = why(lang, "link_refused", "payment_links_unavailable")
        assert unavailable != TEXTS["link_refused"][lang]
    assert chinese_only(why("zh", "link_refused", "payment_links_unavailable"))
