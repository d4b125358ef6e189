"""The loan's position as of a business date, replayed from its schedule and payments.

Nothing here is stored: the schedule, the contract terms and the payments are the facts, and
every figure (charges, allocations, credit, DPD, payoff) is derived from them for any date, so a
back-dated payment or a question about last month gives the same answer as the ledger would have.

Day conventions, chosen so the figures match what a lender computes by hand:
- An installment becomes due at the start of its due date; paying on the due date is on time.
- Penalty interest for day d is charged on the principal overdue at the start of day d, from the
  day after the due date: an installment 45 days late bears 45 days of penalty.
- It is charged only if the installment is still unpaid once the grace days have passed; the
  late fee is charged on that same day, once per installment.
- A payment pays what is due, oldest installment first, each in the waterfall's order; what is
  left is credit, applied to each later installment on its due date. When credit covers the
  payoff amount the loan is settled early: the rest of the principal is paid and interest not
  yet accrued is waived.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from backend.ledger.delinquency import Bucket, bucket_for
from backend.ledger.schedule import ScheduledInstallment
from backend.ledger.terms import Component, LoanTerms
from backend.money import round_half_up

_COMPONENTS = tuple(Component)  # iterating the enum class itself is slow in a hot loop


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    reference: str
    amount: int  # minor units, positive
    received_on: date


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a payment (or of credit) applied to one component of one installment."""

    on: date
    seq: int
    component: Component
    amount: int
    reference: str | None  # the payment's reference; None when applied from credit


@dataclass(frozen=True, slots=True)
class InstallmentPosition:
    seq: int
    due_date: date
    owed: dict[Component, int]  # charged so far (scheduled principal and interest, charges)
    paid: dict[Component, int]
    late: bool  # grace passed with something unpaid

    def outstanding(self, component: Component) -> int:
        return self.owed[component] - self.paid[component]

    @property
    def total_outstanding(self) -> int:
        return sum(self.outstanding(c) for c in _COMPONENTS)

    @property
    def settled(self) -> bool:
        return self.total_outstanding == 0


@dataclass(frozen=True, slots=True)
class Statement:
    as_of: date
    installments: tuple[InstallmentPosition, ...]
    allocations: tuple[Allocation, ...]
    credit: int  # paid but not yet owed
    accrued_interest: int  # current period's interest earned so far, not yet due
    settled_early_on: date | None
    payments_total: int

    def _sum(self, component: Component, *, due_only: bool) -> int:
        return sum(
            i.outstanding(component)
            for i in self.installments
            if not due_only or i.due_date <= self.as_of
        )

    @property
    def principal_outstanding(self) -> int:
        """All principal still owed, due or not."""
        return self._sum(Component.PRINCIPAL, due_only=False)

    @property
    def interest_outstanding(self) -> int:
        """Interest of installments already due and not paid."""
        return self._sum(Component.INTEREST, due_only=True)

    @property
    def fees_outstanding(self) -> int:
        return self._sum(Component.FEE, due_only=True)

    @property
    def penalty_outstanding(self) -> int:
        return self._sum(Component.PENALTY, due_only=True)

    @property
    def total_outstanding(self) -> int:
        """Principal plus interest, fees and penalty already charged."""
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.fees_outstanding
            + self.penalty_outstanding
        )

    @property
    def overdue_amount(self) -> int:
        """Everything unpaid on installments whose due date has passed."""
        return sum(i.total_outstanding for i in self.installments if i.due_date < self.as_of)

    @property
    def due_now(self) -> int:
        """Everything unpaid that is due today or earlier: what pays the loan up to date."""
        return sum(i.total_outstanding for i in self.installments if i.due_date <= self.as_of)

    @property
    def dpd(self) -> int:
        overdue = [
            i.due_date for i in self.installments if i.due_date < self.as_of and not i.settled
        ]
        return (self.as_of - min(overdue)).days if overdue else 0

    @property
    def bucket(self) -> Bucket:
        return bucket_for(self.dpd)

    @property
    def next_due(self) -> tuple[date, int] | None:
        """The first installment due today or later still to pay once credit is applied."""
        credit = self.credit
        for i in self.installments:
            if i.due_date >= self.as_of and not i.settled:
                amount = i.total_outstanding
                if i.due_date > self.as_of:
                    covered = min(credit, amount)
                    amount, credit = amount - covered, credit - covered
                if amount:
                    return i.due_date, amount
        return None

    @property
    def payoff_amount(self) -> int:
        """What settles the loan today: balance plus interest accrued, less credit."""
        return max(self.total_outstanding + self.accrued_interest - self.credit, 0)

    @property
    def paid_off(self) -> bool:
        return self.total_outstanding == 0

    @property
    def charged_total(self) -> int:
        """Principal lent plus interest and charges that have become owed."""
        return sum(
            i.owed[c]
            for i in self.installments
            for c in _COMPONENTS
            if c is Component.PRINCIPAL
            or i.due_date <= self.as_of
            or self.settled_early_on is not None
        )

    @property
    def paid_total(self) -> int:
        return sum(a.amount for a in self.allocations)


@dataclass(slots=True)
class _Installment:
    """Mutable working state of one installment during the replay."""

    seq: int
    due_date: date
    charge_on: date  # first day after grace: late charges if still unpaid
    owed: dict[Component, int]
    paid: dict[Component, int] = field(default_factory=lambda: dict.fromkeys(_COMPONENTS, 0))
    penalty_exact: Decimal = Decimal(0)
    late: bool = False

    def outstanding(self, component: Component) -> int:
        return self.owed[component] - self.paid[component]

    def unpaid(self) -> bool:
        return any(self.owed[c] > self.paid[c] for c in _COMPONENTS)

    def freeze(self) -> InstallmentPosition:
        return InstallmentPosition(
            self.seq, self.due_date, dict(self.owed), dict(self.paid), self.late
        )


class _Replay:
    def __init__(self, terms: LoanTerms, schedule: Sequence[ScheduledInstallment]) -> None:
        self.terms = terms
        charges = terms.late_charges
        self.rate = charges.penalty_daily_rate
        grace = timedelta(days=charges.grace_days + 1)
        self.items = [
            _Installment(
                s.seq,
                s.due_date,
                s.due_date + grace,
                {
                    Component.PRINCIPAL: s.principal,
                    Component.INTEREST: s.interest,
                    Component.FEE: 0,
                    Component.PENALTY: 0,
                },
            )
            for s in sorted(schedule, key=lambda s: s.seq)
        ]
        self.allocations: list[Allocation] = []
        self.credit = 0
        self.accrued_to = terms.disbursed_on  # penalty accrued through this day
        self.settled_early_on: date | None = None

    def accrue_penalty(self, day: date) -> None:
        """Penalty for each day after `accrued_to` through `day`, on principal overdue then."""
        if self.rate and day > self.accrued_to:
            for item in self.items:
                if item.due_date >= day:
                    break
                overdue_principal = item.outstanding(Component.PRINCIPAL)
                if overdue_principal:
                    first = max(self.accrued_to, item.due_date) + timedelta(days=1)
                    days = (day - first).days + 1
                    item.penalty_exact += overdue_principal * self.rate * days
        self.accrued_to = max(self.accrued_to, day)

    def pay(self, day: date, amount: int, reference: str | None) -> int:
        """Apply `amount` to what is due on `day`; return what is left over."""
        for item in self.items:
            if item.due_date > day or amount == 0:
                break
            for component in self.terms.waterfall:
                take = min(amount, item.outstanding(component))
                if take:
                    item.paid[component] += take
                    amount -= take
                    self.allocations.append(Allocation(day, item.seq, component, take, reference))
        return amount

    def accrued_interest(self, day: date) -> tuple[_Installment | None, int]:
        """The current period's installment and its interest earned up to `day`, pro rata."""
        previous = self.terms.disbursed_on
        for item in self.items:
            if item.due_date > day:
                if self.settled_early_on is not None:
                    return None, 0
                period = (item.due_date - previous).days
                elapsed = max((day - previous).days, 0)
                return item, round_half_up(
                    Decimal(item.owed[Component.INTEREST] * elapsed) / period
                )
            previous = item.due_date
        return None, 0

    def settle_early_if_covered(self, day: date) -> None:
        """Credit is pooled from earlier payments, so what it pays is booked as from credit."""
        future = [i for i in self.items if i.due_date > day]
        current, accrued = self.accrued_interest(day)
        if current is None:
            return
        needed = accrued + sum(i.outstanding(Component.PRINCIPAL) for i in future)
        if self.credit < needed:
            return
        for item in future:
            item.owed[Component.INTEREST] = accrued if item is current else 0
            for component in (Component.INTEREST, Component.PRINCIPAL):
                take = item.outstanding(component)
                if take:
                    item.paid[component] += take
                    self.allocations.append(Allocation(day, item.seq, component, take, None))
        self.credit -= needed
        self.settled_early_on = day

    def run(self, payments: Iterable[PaymentRecord], as_of: date) -> Statement:
        by_day: dict[date, list[PaymentRecord]] = {}
        for p in payments:
            if p.received_on < self.terms.disbursed_on:
                raise ValueError(f"payment {p.reference} is dated before the loan was paid out")
            if p.received_on <= as_of:
                by_day.setdefault(p.received_on, []).append(p)
        days = set(by_day) | {as_of}
        days.update(i.due_date for i in self.items if i.due_date <= as_of)
        days.update(i.charge_on for i in self.items if i.charge_on <= as_of)
        total_paid = 0
        for day in sorted(days):
            self.accrue_penalty(day)
            for item in self.items:
                if item.due_date == day and self.credit:
                    self.credit = self.pay(day, self.credit, None)
                if item.charge_on == day:
                    if item.unpaid():
                        item.late = True
                        item.owed[Component.FEE] += self.terms.late_charges.late_fee
                    else:
                        item.penalty_exact = Decimal(0)  # paid within grace: nothing charged
                if item.late:
                    item.owed[Component.PENALTY] = round_half_up(item.penalty_exact)
            for payment in by_day.get(day, ()):
                total_paid += payment.amount
                self.credit += self.pay(day, payment.amount, payment.reference)
                if self.settled_early_on is None:
                    self.settle_early_if_covered(day)
        _, accrued = self.accrued_interest(as_of)
        return Statement(
            as_of=as_of,
            installments=tuple(i.freeze() for i in self.items),
            allocations=tuple(self.allocations),
            credit=self.credit,
            accrued_interest=accrued,
            settled_early_on=self.settled_early_on,
            payments_total=total_paid,
        )


def statement(
    terms: LoanTerms,
    schedule: Sequence[ScheduledInstallment],
    payments: Iterable[PaymentRecord],
    as_of: date,
) -> Statement:
    """The loan's position at the end of business day `as_of`, payments of that day included."""
    return _Replay(terms, schedule).run(payments, as_of)
