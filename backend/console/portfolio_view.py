"""The Portfolio page as the console shows it: bucket names in the user's language, shares as
table text, the roll-rate matrix's heat-map classes, and the figures as plain JSON series that
static/portfolio.js draws with Chart.js. Pure: no database, no request."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

from backend.analytics.portfolio import (
    BUCKETS,
    CLOSED,
    Portfolio,
    RollRates,
    Vintage,
    previous_month_end,
)
from backend.console.amounts import Amount
from backend.console.dashboard_view import percent
from backend.money import to_major

END_STATES = (*BUCKETS, CLOSED)  # the roll-rate matrix's columns
HEAT_STEPS = 10  # portfolio.css has a class per step: heat-0 … heat-10


def amount(minor: int, currency: str) -> str:
    return Amount(minor, currency).text


def bucket_name(state: str, t: Callable[..., str]) -> str:
    """The words for "current" and "closed"; a past-due bucket by its days ("31-60")."""
    if state == CLOSED:
        return t("portfolio.closed")
    return t(f"bucket.{state}") if state == BUCKETS[0] else state


def heat(share: float | None) -> int:
    """The share in tenths, rounded up: any move at all shows a tint."""
    return 0 if share is None else math.ceil(share * HEAT_STEPS)


def direction(start: str, end: str) -> str:
    """How a move reads on the heat map: to a better bucket (or repaid), the same, or worse."""
    if end == CLOSED:
        return "better"
    then, now = BUCKETS.index(start), BUCKETS.index(end)
    return "same" if then == now else ("better" if now < then else "worse")


def roll_cell(rolls: RollRates, start: str, end: str) -> dict[str, Any]:
    share = rolls.share(start, end)
    return {
        "count": rolls.counts.get((start, end), 0),
        "whole": rolls.loans(start),
        "share": percent(share),
        "css": f"{direction(start, end)} heat-{heat(share)}",
    }


def roll_start(end: date) -> date:
    """The month end a roll-rate matrix ending on `end` starts from."""
    return previous_month_end(end)


def roll_rows(rolls: RollRates) -> list[str]:
    """The buckets with loans at the start: a row of no loans has no shares."""
    return [b for b in BUCKETS if rolls.loans(b)]


def vintage_share(vintage: Vintage, month_on_book: int) -> str:
    point = vintage.at(month_on_book)
    return "" if point is None else percent(point.share)


def vintage_title(vintage: Vintage, month_on_book: int, t: Callable[..., str]) -> str:
    """The counts behind a share, for the cell's tooltip."""
    point = vintage.at(month_on_book)
    if point is None:
        return ""
    return t("portfolio.of", part=point.past_30, whole=point.loans, day=point.as_of)


def month(day: date) -> str:
    """A vintage's month as "2026-03"."""
    return f"{day:%Y-%m}"


SERIES = ("loans", "outstanding", "share_30", "month_on_book")


def chart_data(portfolio: Portfolio, t: Callable[..., str]) -> dict[str, Any]:
    """Series for the charts: counts per bucket per day, outstanding per currency in major
    units as exact decimal strings, each vintage's 30+ share by month on book (null where the
    vintage has no month end at that age)."""
    shown = portfolio.distribution
    return {
        "days": [d.as_of.isoformat() for d in shown],
        "buckets": [bucket_name(b, t) for b in BUCKETS],
        "loans": [[d.loans[b] for d in shown] for b in BUCKETS],
        "outstanding": [
            {
                "currency": currency,
                "values": [
                    [
                        str(to_major(d.outstanding.get(currency, {}).get(b, 0), currency))
                        for d in shown
                    ]
                    for b in BUCKETS
                ],
            }
            for currency in currencies(portfolio)
        ],
        "vintages": [
            {
                "product": p.code,
                "months_on_book": list(range(p.months_on_book + 1)),
                "lines": [
                    {
                        "label": month(v.month),
                        "shares": [
                            None if (pt := v.at(m)) is None else pt.share
                            for m in range(p.months_on_book + 1)
                        ],
                    }
                    for v in p.vintages
                ],
            }
            for p in portfolio.vintages
        ],
        "labels": {key: t(f"portfolio.series.{key}") for key in SERIES},
    }


def currencies(portfolio: Portfolio) -> list[str]:
    return sorted({c for d in portfolio.distribution for c in d.outstanding})
