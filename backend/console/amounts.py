"""Money as the console shows it: integer minor units with their currency, and the text a
collector reads ("2,500.00 CNY"). Pages never see a float or a bare number without a currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from backend.money import to_major


@dataclass(frozen=True, slots=True)
class Amount:
    minor: int
    currency: str

    @property
    def text(self) -> str:
        """Major units grouped by thousands, with the currency's own decimals ("2,500.00 CNY",
        "2,500 JPY")."""
        return f"{to_major(self.minor, self.currency):,} {self.currency}"


def per_currency(amounts: Iterable[Amount]) -> tuple[Amount, ...]:
    """Amounts summed per currency, in currency order; currencies that sum to zero are left
    out (a borrower with nothing overdue shows nothing, not "0.00 CNY")."""
    totals: dict[str, int] = defaultdict(int)
    for a in amounts:
        totals[a.currency] += a.minor
    return tuple(Amount(minor, cur) for cur, minor in sorted(totals.items()) if minor)
