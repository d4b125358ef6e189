"""The dashboard as plain text tables, for operations at a terminal (`python -m backend
dashboard`): the same figures as the console, one section per table, totals last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from backend.analytics.figures import Dashboard, Experiment, Interval, Ratio

NONE = "-"


def render(d: Dashboard) -> str:
    s = d.scope
    lines = [
        f"Dashboard {s.start} to {s.end} ({s.timezone}), channel {s.channel or 'all'}, "
        f"language {s.language or 'all'}",
        "",
        "Chats",
        *_table(
            ("day", "chats", "contained", "handed off", "containment", "wait median", "wait p90"),
            [
                (
                    _day(c.day),
                    c.conversations,
                    c.contained,
                    c.handed_off,
                    _rate(c.contained, c.conversations),
                    _seconds(c.wait_median_s),
                    _seconds(c.wait_p90_s),
                )
                for c in [*d.chats, d.chat_total]
            ],
        ),
        "",
        "Promises to pay",
        *_table(
            ("day", "chats", "with promise", "share", "due", "kept", "kept rate"),
            [
                (
                    _day(p.day),
                    p.conversations,
                    p.with_promise,
                    _rate(p.with_promise, p.conversations),
                    p.due,
                    p.kept,
                    _rate(p.kept, p.due),
                )
                for p in [*d.promises, d.promise_total]
            ],
        ),
        "",
        "Promised in the period",
        *_table(
            ("currency", "promised", "paid", "paid share"),
            [
                (a.currency, a.promised, a.paid, _rate(a.paid_minor, a.promised_minor))
                for a in d.amounts
            ]
            or [(NONE, NONE, NONE, NONE)],
        ),
        "",
        "Loans past due at the start: where they were at the end",
        *_table(
            ("group", "loans", "cured", "cure rate", "rolled forward", "moves"),
            [
                (
                    t.group,
                    t.loans,
                    t.cured,
                    _rate(t.cured, t.loans),
                    t.roll_forward(),
                    ", ".join(f"{a}>{b} {n}" for (a, b), n in t.rolls.items()) or NONE,
                )
                for t in d.transitions
            ],
            left=(0, 5),
        ),
        "",
        "Reminders",
        *_table(
            ("day", "sent", "held", "opt-outs", "held by reason"),
            [
                (
                    _day(r.day),
                    r.sent,
                    sum(r.held.values()),
                    r.opt_outs,
                    ", ".join(f"{k} {n}" for k, n in r.held.items()) or NONE,
                )
                for r in [*d.reminders, d.reminder_total]
            ],
            left=(0, 4),
        ),
        "",
        "Champion / challenger (converted: paid or promised)",
        *_table(
            ("step", "variant", "sent", "converted", "rate (95% CI)", "difference (95% CI)"),
            [row for e in d.experiments for row in _experiment_rows(e)]
            or [(NONE, NONE, NONE, NONE, NONE, NONE)],
            left=(0, 1),
        ),
        "",
        "NLU",
        *_table(
            ("day", "messages read", "fallbacks", "fallback rate"),
            [
                (_day(n.day), n.messages, n.fallbacks, _rate(n.fallbacks, n.messages))
                for n in [*d.nlu, d.nlu_total]
            ],
        ),
        "",
        "Corrected by labelling (most frequent)",
        *_table(
            ("read as", "labelled", "messages"),
            [(c.predicted or NONE, c.labelled, c.count) for c in d.corrections]
            or [(NONE, NONE, NONE)],
            left=(0, 1),
        ),
    ]
    return "\n".join(lines) + "\n"


def _experiment_rows(e: Experiment) -> list[tuple[object, ...]]:
    return [
        (v.step_id, v.variant, v.sent, v.converted, _interval(v.rate, signed=False), difference)
        for v, difference in ((e.champion, ""), (e.challenger, _interval(e.difference)))
    ]


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, left: Sequence[int] = (0,)
) -> list[str]:
    """Columns `left` left-aligned (names), the rest right-aligned (figures), two spaces
    between."""
    cells = [[str(h) for h in headers], *[[str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [
        "  ".join(
            value.ljust(widths[i]) if i in left else value.rjust(widths[i])
            for i, value in enumerate(row)
        ).rstrip()
        for row in cells
    ]


def _day(day: date | None) -> str:
    return "total" if day is None else day.isoformat()


def _rate(part: int, whole: int) -> str:
    value = Ratio(part, whole).value
    return NONE if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:.0f}s"


def _interval(i: Interval | None, *, signed: bool = True) -> str:
    if i is None:
        return NONE
    f = "+.1%" if signed else ".1%"
    return f"{i.estimate:{f}} ({i.low:{f}} to {i.high:{f}})"
