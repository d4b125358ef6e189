"""The borrower is told why the first offer is first, in their language, with the backend's
figures; not when the offers shown are not the backend's order (one kind asked for) or when
there is only one."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_types import FirstBecause, Offers
from actions.plans import show_offers
from tests.actions.test_offer_buttons import EXTEND, SIX, offer

pytestmark = pytest.mark.asyncio
SEVEN = offer("installment", ["1127.51"] * 8, term_months=7, sized=True)
FITS = FirstBecause(
    "fits_payments", {"largest": "1127.51", "median": "1066.19", "months": 6}, "for staff"
)


class Backend:
    def __init__(self, offers: Offers) -> None:
        self.given = offers

    async def offers(self, *_: Any, **__: Any) -> Offers:
        return self.given


async def shown(
    lang: str, made: list[Any], because: FirstBecause | None, kind: str | None = None
) -> str:
    dispatcher = CollectingDispatcher()
    offers = Offers("L2", date(2026, 4, 1), "CNY", made, [], because)
    await show_offers(dispatcher, Backend(offers), "telegram", "555", "L2", kind, lang)
    return str(dispatcher.messages[0]["text"])


async def test_the_reason_is_said_with_its_figures() -> None:
    text = await shown("en", [SEVEN, SIX], FITS)
    assert text.splitlines()[-1] == (
        "Option 1 comes first: its payments (at most 1127.51 CNY) fit what you have paid in "
        "recent months, about 1066.19 CNY a month, and it costs the least of those that do."
    )
    zh = await shown("zh", [SEVEN, SIX], FITS)
    assert zh.splitlines()[-1].startswith("第1个方案排在最前：每期最多 1127.51 CNY")
    assert "近6个月" in zh and "1066.19 CNY" in zh


async def test_a_reason_the_assistant_does_not_know_is_said_in_general() -> None:
    text = await shown("en", [SEVEN, SIX], FirstBecause("something_new", {}, ""))
    assert text.splitlines()[-1] == "Option 1 suits what you have been paying best."


@pytest.mark.parametrize(
    ("made", "because", "kind"),
    [
        ([SEVEN, SIX, EXTEND], FITS, "extension"),  # the extension shown alone: not the first
        ([SEVEN], FITS, None),  # nothing to come before
        ([SEVEN, SIX], None, None),  # the policy's order
    ],
)
async def test_no_reason_when_it_would_not_be_true(
    made: list[Any], because: FirstBecause | None, kind: str | None
) -> None:
    text = await shown("en", made, because, kind)
    assert "first" not in text.lower().splitlines()[-1]
    assert "comes first" not in text


async def test_the_months_asked_for_come_first_without_the_reason_for_another() -> None:
    dispatcher = CollectingDispatcher()
    offers = Offers("L2", date(2026, 4, 1), "CNY", [SEVEN, SIX], [], FITS)
    ids = await show_offers(dispatcher, Backend(offers), "telegram", "555", "L2", None, "en", 6)
    text = str(dispatcher.messages[0]["text"])
    assert text.startswith("The 6 months you asked for is option 1.\nHere is what I can offer:")
    assert ids == [SIX.id, SEVEN.id]
    assert "comes first" not in text  # the backend's reason is for its own first

    dispatcher = CollectingDispatcher()
    ids = await show_offers(dispatcher, Backend(offers), "telegram", "555", "L2", None, "zh", 12)
    text = str(dispatcher.messages[0]["text"])
    assert text.startswith("暂时没有分12期的方案。\n您可以选择以下方案：")
    assert ids == [SEVEN.id, SIX.id] and "排在最前" in text  # the backend's order and reason
