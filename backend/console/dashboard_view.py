"""The operations dashboard as the console shows it: the filter's scope, the figures as table
text (percentages, waits, money per currency) and the same figures as plain JSON series that
static/dashboard.js draws with Chart.js. Pure: no database, no request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from backend.analytics.figures import (
    Dashboard,
    Experiment,
    Interval,
    Scope,
    Transitions,
    VariantFigures,
)
from backend.console.amounts import Amount
from backend.console.rendering import duration
from backend.ledger.delinquency import Bucket
from backend.money import to_major
from backend.outreach.rules import DEFER_REASONS, DROP_REASONS

PERIODS = ("7", "30", "90")  # days ending today
CHANNELS = ("telegram", "webchat", "whatsapp", "sms")
LANGUAGES = ("zh", "en")
# The rules' reasons, and the dispatcher's own drops (backend/outreach/service.py).
HOLD_REASONS = (
    *DEFER_REASONS,
    *DROP_REASONS,
    "no_longer_due",
    "no_channel",
    "sms_too_long",
    "no_chat",
)
BUCKETS = tuple(b.value for b in Bucket)
PAST_DUE = BUCKETS[1:]  # the groups start past due: no row for "current"


@dataclass(frozen=True, slots=True)
class Filter:
    period: str = "30"
    channel: str = ""  # "" for all
    language: str = ""

    def scope(self, today: date, timezone: str) -> Scope:
        return Scope(
            start=today - timedelta(days=int(self.period) - 1),
            end=today,
            channel=self.channel or None,
            language=self.language or None,
            timezone=timezone,
        )


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(value: float | None) -> str:
    """12.5% (one decimal: fallback and roll rates are often a few percent); "–" for no base."""
    return "–" if value is None else f"{value:.1%}"


def wait(seconds: float | None, language: str) -> str:
    return "–" if seconds is None else duration(round(seconds), language)


def money(minor: int, currency: str) -> str:
    return Amount(minor, currency).text


def roll_forward_rate(group: Transitions) -> float | None:
    return rate(group.roll_forward(), group.loans)


def verdict(difference: Interval | None) -> str:
    """Plain words for a difference's 95% CI: a side only when the interval leaves out 0."""
    if difference is None:
        return "no_data"
    if difference.low > 0:
        return "challenger"
    if difference.high < 0:
        return "champion"
    return "unclear"


def interval_text(interval: Interval | None, *, signed: bool = False) -> str:
    """The estimate and its 95% CI, "12.0% [8.1%, 17.3%]"; a difference carries its sign."""
    if interval is None:
        return "–"
    fmt = "{:+.1%}" if signed else "{:.1%}"
    values = (interval.estimate, interval.low, interval.high)
    estimate, low, high = (fmt.format(v) for v in values)
    return f"{estimate} [{low}, {high}]"


def hold_reason(reason: str, t: Callable[..., str]) -> str:
    """A held reminder's reason in words; one the console has no words for yet, as recorded."""
    key = f"hold.{reason}"
    worded = t(key)
    return reason.replace("_", " ") if worded == key else worded


def rolls_table(group: Transitions) -> list[tuple[str, list[int]]]:
    """Counts from each past-due bucket at the start (rows) to each bucket at the end."""
    return [(then, [group.rolls.get((then, now), 0) for now in BUCKETS]) for then in PAST_DUE]


# The charts' series names, worded in the user's language for the legends.
SERIES = (
    "contained",
    "handed_off",
    "wait_median",
    "wait_p90",
    "minutes",
    "promise_rate",
    "kept_rate",
    "promised",
    "paid",
    "cure_rate",
    "roll_forward_rate",
    "sent",
    "opt_outs",
    "ci",
    "rate",
    "fallback_rate",
    "messages",
)


def chart_data(board: Dashboard, t: Callable[..., str]) -> dict[str, Any]:
    """Series for the charts, one value per day of the scope (null where there is no base);
    rates as fractions, waits in minutes, money in major units as exact decimal strings."""
    reasons = sorted({r for d in board.reminders for r in d.held})
    return {
        "days": [d.isoformat() for d in board.scope.days()],
        "conversations": {
            "contained": [rate(c.contained, c.conversations) for c in board.chats],
            "handed_off": [rate(c.handed_off, c.conversations) for c in board.chats],
            "wait_median": [_minutes(c.wait_median_s) for c in board.chats],
            "wait_p90": [_minutes(c.wait_p90_s) for c in board.chats],
        },
        "promises": {
            "promise_rate": [rate(p.with_promise, p.conversations) for p in board.promises],
            "kept_rate": [rate(p.kept, p.due) for p in board.promises],
        },
        "amounts": [
            {
                "currency": a.currency,
                "promised": str(to_major(a.promised_minor, a.currency)),
                "paid": str(to_major(a.paid_minor, a.currency)),
            }
            for a in board.amounts
        ],
        "delinquency": {
            "groups": [t(f"dash.group.{g.group}") for g in board.transitions],
            "cure_rate": [rate(g.cured, g.loans) for g in board.transitions],
            "roll_forward_rate": [roll_forward_rate(g) for g in board.transitions],
        },
        "reminders": {
            "sent": [r.sent for r in board.reminders],
            "held": [
                {
                    "reason": hold_reason(reason, t),
                    "counts": [r.held.get(reason, 0) for r in board.reminders],
                }
                for reason in reasons
            ],
            "opt_outs": [r.opt_outs for r in board.reminders],
        },
        "experiments": [_experiment(e, t) for e in board.experiments],
        "nlu": {
            "fallback_rate": [rate(n.fallbacks, n.messages) for n in board.nlu],
            "messages": [n.messages for n in board.nlu],
        },
        "labels": {key: t(f"dash.series.{key}") for key in SERIES},
    }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def _experiment(e: Experiment, t: Callable[..., str]) -> dict[str, Any]:
    def arm(role: str, figures: VariantFigures) -> dict[str, Any]:
        r = figures.rate
        name = t(f"dash.arm.{role}")
        return {
            "label": name if figures.variant == role else f"{name}: {figures.variant}",
            "rate": None if r is None else r.estimate,
            "low": None if r is None else r.low,
            "high": None if r is None else r.high,
        }

    return {
        "step": e.step_id,
        "arms": [arm("champion", e.champion), arm("challenger", e.challenger)],
        "verdict": t(f"dash.verdict.{verdict(e.difference)}"),
    }
