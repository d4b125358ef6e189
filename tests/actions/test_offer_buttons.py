"""Offer buttons: what a borrower reads on Telegram or the web chat names each offer's amount and
shape, fits on one line, and the same schedule is not offered twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from actions.backend_types import Offer, PlanRow
from actions.plans import MAX_TITLE, button_title, distinct


def offer(kind: str, amounts: list[str], **figures: object) -> Offer:
    rows = [PlanRow(date(2026, 12, 1 + i), Decimal(a)) for i, a in enumerate(amounts)]
    values: dict[str, object] = {
        "id": f"{kind}-{len(amounts)}-{amounts[0]}",
        "kind": kind,
        "term_months": None,
        "months": None,
        "discount_share": None,
        "parts": None,
        "settles": Decimal("0"),
        "fee": Decimal("0"),
        "discount": Decimal("0"),
        "total": sum((r.amount for r in rows), Decimal("0")),
        "installments": rows,
        "needs_approval": False,
        "grace_days": 3,
        "why": "",
    }
    return Offer(**{**values, **figures})  # type: ignore[arg-type]


NOW = offer("settlement", ["2676.63"], parts=1)
IN_TWO = offer("settlement", ["1338.32", "1338.31"], parts=2)
SIX = offer("installment", ["8013.40"] * 6, term_months=6)
DOWN = offer("installment", ["12000.00"] + ["8013.40"] * 6, term_months=6)
EXTEND = offer("extension", ["500.00"], months=1, fee=Decimal("35.50"))


@pytest.mark.parametrize(
    ("lang", "item", "title"),
    [
        ("en", NOW, "1. Settle 2,676.63 now"),
        ("en", IN_TWO, "1. Settle 2,676.63 in 2 parts"),
        ("en", SIX, "1. 6 × 8,013.40"),
        ("en", DOWN, "1. 12,000.00 + 6 × 8,013.40"),
        ("en", EXTEND, "1. Extend 1 month, fee 35.50"),
        ("zh", NOW, "1. 一次结清 2,676.63"),
        ("zh", IN_TWO, "1. 分2笔结清 2,676.63"),
        ("zh", SIX, "1. 分6期 每期8,013.40"),
        ("zh", DOWN, "1. 首付12,000.00 分6期×8,013.40"),
        ("zh", EXTEND, "1. 延期1个月 手续费35.50"),
    ],
)
def test_a_button_names_the_amount_and_the_shape(lang: str, item: Offer, title: str) -> None:
    assert button_title(lang, 1, item) == title
    assert len(title) <= MAX_TITLE


def test_one_payment_and_two_parts_of_the_same_amount_read_differently() -> None:
    titles = {button_title(lang, 1, o) for lang in ("en", "zh") for o in (NOW, IN_TWO)}
    assert len(titles) == 4


def test_the_same_schedule_is_offered_once() -> None:
    twin = offer("settlement", ["2676.63"], parts=1, id="another-id")
    assert distinct([NOW, IN_TWO, twin, SIX]) == [NOW, IN_TWO, SIX]
