"""What a borrower has shown they can pay (pure): the median of their monthly payments on the
loan, the promises they kept, and whether they told us of hardship. Offers are ordered and
sized by it (`order.py`, and the installment terms in `rules.py`); the policy stays the ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from backend.money import round_half_up
from backend.plans.policy import PersonalPolicy


@dataclass(frozen=True, slots=True)
class PayingRecord:
    # Paid in each of the last complete calendar months since the first installment fell due,
    # oldest first (minor units; a month with nothing paid is a 0).
    monthly: tuple[int, ...] = ()
    kept: int = 0  # promises kept in full
    not_kept: int = 0  # promises broken or only partly kept
    hardship: bool = False  # a hardship report within the policy's days

    def median(self, policy: PersonalPolicy) -> int | None:
        """The median monthly payment; None when too few months fell due to tell."""
        if len(self.monthly) < policy.min_months:
            return None
        ordered = sorted(self.monthly)
        mid = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[mid]
        return round_half_up(Decimal(ordered[mid - 1] + ordered[mid]) / 2)

    def trusted(self, policy: PersonalPolicy) -> bool:
        """Kept every promise made, and enough of them to count."""
        return self.kept >= policy.min_kept and self.not_kept == 0

    def allowance(self, policy: PersonalPolicy) -> int | None:
        """The largest single payment an offer may ask for and still fit what the borrower
        pays: the median plus a margin, a wider one for a borrower who keeps their word (not
        while they report hardship). None: no median to go by."""
        median = self.median(policy)
        if median is None or not policy.enabled:
            return None
        if self.hardship:
            return median
        margin = policy.kept_margin if self.trusted(policy) else policy.margin
        return round_half_up(median * (1 + margin))


def months_due(first_due: date, today: date, months: int) -> list[tuple[date, date]]:
    """The last `months` complete calendar months before `today`'s, from the month of the
    first due date on, as [start, end) ranges, oldest first."""
    start_of_this = today.replace(day=1)
    first = first_due.replace(day=1)
    ranges = []
    for back in range(months, 0, -1):
        start = start_of_this - relativedelta(months=back)
        if start >= first:
            ranges.append((start, start + relativedelta(months=1)))
    return ranges


def monthly_totals(
    payments: list[tuple[date, int]], ranges: list[tuple[date, date]]
) -> tuple[int, ...]:
    """What was paid in each range, from (received on, amount) pairs."""
    return tuple(sum(a for d, a in payments if start <= d < end) for start, end in ranges)
