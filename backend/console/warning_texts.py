"""A warning signal in words: its name for the filter, and its sentence with the figures the
worker recorded (money with its currency, as the rest of the console shows it). Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backend.console.amounts import Amount

Figures = Mapping[str, Any]


def _money(figures: Figures, field: str) -> str:
    return Amount(int(figures[field]), str(figures["currency"])).text


Words = Callable[..., str]  # the translator, `t`
# Each signal's values for its sentence, from its figures.
_VALUES: dict[str, Callable[[Figures, Words], dict[str, object]]] = {
    "first_payment_missed": lambda f, t: {"due_date": f["due_date"], "dpd": int(f["dpd"])},
    "partial_payment": lambda f, t: {
        "paid": _money(f, "paid_minor"),
        "overdue": _money(f, "overdue_minor"),
        "days": int(f["days"]),
    },
    "paying_later": lambda f, t: {"worst": " → ".join(str(int(d)) for d in f["worst_dpd"])},
    "promise_broken": lambda f, t: {
        "amount": _money(f, "amount_minor"),
        "promised_date": f["promised_date"],
    },
    "arrangement_at_risk": lambda f, t: {
        "plan": plan_name(str(f["kind"]), t),
        "overdue": _money(f, "overdue_minor"),
    },
    "messages_failing": lambda f, t: {"failed": int(f["failed"]), "days": int(f["days"])},
    "unanswered": lambda f, t: {"contacts": int(f["contacts"]), "days": int(f["days"])},
    "opted_out": lambda f, t: {"on": f["on"]},
    "contact_changed": lambda f, t: {"on": f["on"]},
    "charges_jump": lambda f, t: {"charges": _money(f, "charges_minor"), "days": int(f["days"])},
}


def plan_name(kind: str, t: Words) -> str:
    key = f"plan.{kind}"
    named = t(key)
    return kind.replace("_", " ") if named == key else named


def signal_name(code: str, t: Words) -> str:
    """The signal's short name; a code the console has no words for yet, as recorded."""
    key = f"warnings.signal.{code}"
    named = t(key)
    return code.replace("_", " ") if named == key else named


def signal_text(code: str, figures: Figures, t: Words) -> str:
    """The signal's sentence with its figures; its name alone when the figures are not the
    ones the sentence needs (a worker of another version wrote them)."""
    try:
        return t(f"warnings.text.{code}", **_VALUES[code](figures, t))
    except (KeyError, TypeError, ValueError, IndexError):
        return signal_name(code, t)
