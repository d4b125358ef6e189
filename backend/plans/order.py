"""Which offer comes first, and why (pure): by what the borrower has shown they can pay.

The policy decides which offers a loan gets (`rules.py`); this only orders them:
- a borrower who reported hardship: the smallest payments first;
- otherwise, with a median monthly payment to go by: the offers whose every payment fits it
  (plus the policy's margin, wider for a borrower who kept their promises) first, the cheapest
  first; then the rest, the smallest payments first;
- at a tie, what the assistant may grant alone before what needs a supervisor (which stays
  a supervisor's to grant: the order changes what is offered first, never who decides);
- nothing to go by: the policy's order, and no reason given.
The reason is a code with its figures (`FIRST_BECAUSE`), for the assistant to say in the
borrower's language and for staff to read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from backend.plans.paying import PayingRecord
from backend.plans.policy import PersonalPolicy
from backend.plans.rules import Offer

# Why the first offer is first: each code's English for staff, naming its figures (`params`;
# the amounts among them are in minor units until formatted).
FIRST_BECAUSE: dict[str, str] = {
    "hardship": "the borrower reported hardship: the smallest payments first (at most {largest})",
    "fits_payments": "its payments (at most {largest}) fit the borrower's median monthly payment "
    "of {median} over {months} months, and it costs the least of those that do",
    "kept_promises": "the borrower kept {kept} promise(s) to pay: a plan a little above the "
    "median monthly payment of {median} comes first (at most {largest})",
    "closest_to_payments": "no offer fits the borrower's median monthly payment of {median} over "
    "{months} months: the smallest payments first (at most {largest})",
    "nothing_paid": "nothing paid in the last {months} months: the smallest payments first "
    "(at most {largest})",
}
AMOUNT_PARAMS = frozenset({"largest", "median"})


@dataclass(frozen=True, slots=True)
class FirstBecause:
    code: str  # one of FIRST_BECAUSE
    params: dict[str, int] = field(default_factory=dict)

    def figures(self, amount: Callable[[int], str]) -> dict[str, str | int]:
        """The params with the amounts written by `amount` (minor units to text)."""
        return {k: amount(v) if k in AMOUNT_PARAMS else v for k, v in self.params.items()}

    def reason(self, amount: Callable[[int], str]) -> str:
        return FIRST_BECAUSE[self.code].format(**self.figures(amount))


@dataclass(frozen=True, slots=True)
class Ordered:
    offers: list[Offer]
    first_because: FirstBecause | None
    fits: dict[str, bool]  # offer id: every payment within what the borrower pays (no median: {})


def _smallest_first(offer: Offer) -> tuple[int, int, int, int]:
    return (offer.largest_payment, int(offer.needs_approval), offer.cost, len(offer.rows))


def order(offers: list[Offer], record: PayingRecord | None, policy: PersonalPolicy) -> Ordered:
    if not offers or record is None or not policy.enabled:
        return Ordered(list(offers), None, {})
    median = record.median(policy)
    allowance = record.allowance(policy)
    fits = {o.id: o.largest_payment <= allowance for o in offers} if allowance is not None else {}
    months = len(record.monthly)
    if record.hardship:
        ranked = sorted(offers, key=_smallest_first)
        because = FirstBecause("hardship", {"largest": ranked[0].largest_payment})
        return Ordered(ranked, because, fits)
    if median is None or allowance is None:
        return Ordered(list(offers), None, {})
    if median == 0:
        ranked = sorted(offers, key=_smallest_first)
        because = FirstBecause(
            "nothing_paid", {"largest": ranked[0].largest_payment, "months": months}
        )
        return Ordered(ranked, because, fits)

    def key(o: Offer) -> tuple[int, ...]:
        if fits[o.id]:
            return (0, o.cost, int(o.needs_approval), len(o.rows), o.largest_payment)
        return (1, *_smallest_first(o))

    ranked = sorted(offers, key=key)  # stable: ties keep the policy's order
    first = ranked[0]
    figures = {"largest": first.largest_payment, "median": median, "months": months}
    if not fits[first.id]:
        because = FirstBecause("closest_to_payments", figures)
    elif record.trusted(policy) and first.largest_payment > median * (1 + policy.margin):
        because = FirstBecause("kept_promises", {**figures, "kept": record.kept})
    else:
        because = FirstBecause("fits_payments", figures)
    return Ordered(ranked, because, fits)
