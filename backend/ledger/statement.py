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
- Repayment arrangements change this from the day they start: see `arrangement.py`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from backend.ledger.arrangement import (
    ArrangementKind,
    ArrangementOutcome,
    ArrangementStatus,
    ArrangementTerms,
)
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
class Waiver:
    """An amount forgiven: what a completed settlement did not require."""

    on: date
    seq: int
    component: Component
    amount: int
    arrangement_id: int


@dataclass(frozen=True, slots=True)
class InstallmentPosition:
    seq: int
    due_date: date
    owed: dict[Component, int]  # charged so far (scheduled principal and interest, charges)
    paid: dict[Component, int]  # paid or waived
    late: bool  # grace passed with something unpaid
    # Interest, fees and penalty on it are owed now: it is due, or it is an arrangement's
    # installment (those carry amounts already owed), or the loan was settled early.
    charged: bool
    arrangement_id: int | None
    restructured: bool  # its unpaid amounts moved onto an arrangement's installments
    # Penalty interest earned so far, unrounded: what the day-by-day snapshot carries forward.
    penalty_exact: Decimal = Decimal(0)

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
    waivers: tuple[Waiver, ...]
    credit: int  # paid but not yet owed
    accrued_interest: int  # current period's interest earned so far, not yet due
    settled_early_on: date | None
    payments_total: int
    arrangements: tuple[ArrangementOutcome, ...] = ()

    def _sum(self, component: Component, *, charged_only: bool) -> int:
        return sum(
            i.outstanding(component) for i in self.installments if i.charged or not charged_only
        )

    @property
    def principal_outstanding(self) -> int:
        """All principal still owed, due or not."""
        return self._sum(Component.PRINCIPAL, charged_only=False)

    @property
    def interest_outstanding(self) -> int:
        """Interest already owed (of installments due, or moved onto an arrangement)."""
        return self._sum(Component.INTEREST, charged_only=True)

    @property
    def fees_outstanding(self) -> int:
        return self._sum(Component.FEE, charged_only=True)

    @property
    def penalty_outstanding(self) -> int:
        return self._sum(Component.PENALTY, charged_only=True)

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
            if c is Component.PRINCIPAL or i.charged
        )

    @property
    def paid_total(self) -> int:
        return sum(a.amount for a in self.allocations)

    @property
    def waived_total(self) -> int:
        return sum(w.amount for w in self.waivers)

    @property
    def active_arrangement(self) -> ArrangementOutcome | None:
        active = [a for a in self.arrangements if a.status is ArrangementStatus.ACTIVE]
        return active[-1] if active else None


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
    arrangement_id: int | None = None  # set on an arrangement's own installments
    restructured: bool = False  # its unpaid amounts moved onto an arrangement

    def outstanding(self, component: Component) -> int:
        return self.owed[component] - self.paid[component]

    def unpaid(self) -> bool:
        return any(self.owed[c] > self.paid[c] for c in _COMPONENTS)

    def freeze(self, as_of: date, settled_early: bool) -> InstallmentPosition:
        charged = self.due_date <= as_of or self.arrangement_id is not None or settled_early
        return InstallmentPosition(
            self.seq,
            self.due_date,
            dict(self.owed),
            dict(self.paid),
            self.late,
            charged,
            self.arrangement_id,
            self.restructured,
            self.penalty_exact,
        )


@dataclass(slots=True)
class _Arrangement:
    terms: ArrangementTerms
    status: ArrangementStatus = ArrangementStatus.ACTIVE
    ended_on: date | None = None
    paid_towards: int = 0

    def outcome(self) -> ArrangementOutcome:
        t = self.terms
        return ArrangementOutcome(
            t.id, t.kind, t.starts_on, self.status, self.ended_on, self.paid_towards
        )

    def check_days(self) -> list[date]:
        grace = timedelta(days=self.terms.grace_days + 1)
        return [r.due_date + grace for r in self.terms.rows]


class _Replay:
    def __init__(
        self,
        terms: LoanTerms,
        schedule: Sequence[ScheduledInstallment],
        arrangements: Sequence[ArrangementTerms],
    ) -> None:
        self.terms = terms
        charges = terms.late_charges
        self.rate = charges.penalty_daily_rate
        self.grace = timedelta(days=charges.grace_days + 1)
        self.items = [
            _Installment(
                s.seq,
                s.due_date,
                s.due_date + self.grace,
                {
                    Component.PRINCIPAL: s.principal,
                    Component.INTEREST: s.interest,
                    Component.FEE: 0,
                    Component.PENALTY: 0,
                },
            )
            for s in sorted(schedule, key=lambda s: s.seq)
        ]
        self.arrangements = [
            _Arrangement(a) for a in sorted(arrangements, key=lambda a: a.starts_on)
        ]
        self.active: _Arrangement | None = None
        self.allocations: list[Allocation] = []
        self.waivers: list[Waiver] = []
        self.credit = 0
        self.accrued_to = terms.disbursed_on  # penalty accrued through this day
        self.settled_early_on: date | None = None
        self._days: list[date] = []

    # -- the calendar ---------------------------------------------------------------------

    def _schedule_day(self, day: date, as_of: date) -> None:
        if day <= as_of:
            heapq.heappush(self._days, day)

    @property
    def frozen(self) -> bool:
        return self.active is not None

    # -- charges --------------------------------------------------------------------------

    def accrue_penalty(self, day: date) -> None:
        """Penalty for each day after `accrued_to` through `day`, on principal overdue then.
        Nothing accrues while an arrangement is active, and nothing is charged back for it."""
        if self.rate and day > self.accrued_to and not self.frozen:
            for item in self.items:
                if item.due_date >= day:
                    break
                overdue_principal = item.outstanding(Component.PRINCIPAL)
                if overdue_principal:
                    first = max(self.accrued_to, item.due_date) + timedelta(days=1)
                    days = (day - first).days + 1
                    item.penalty_exact += overdue_principal * self.rate * days
        self.accrued_to = max(self.accrued_to, day)

    def mark_late(self, item: _Installment) -> None:
        if not item.late:
            item.late = True
            item.owed[Component.FEE] += self.terms.late_charges.late_fee

    def crystallise_penalties(self) -> None:
        for item in self.items:
            if item.late:
                item.owed[Component.PENALTY] = round_half_up(item.penalty_exact)

    # -- money in ---------------------------------------------------------------------------

    def pay(self, day: date, amount: int, reference: str | None, *, all_items: bool = False) -> int:
        """Apply `amount` to what is due on `day` (to everything with `all_items`); return
        what is left over."""
        for item in self.items:
            if amount == 0 or (item.due_date > day and not all_items):
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
            if item.due_date > day and not item.restructured:
                if self.settled_early_on is not None or item.arrangement_id is not None:
                    return None, 0
                period = (item.due_date - previous).days
                elapsed = max((day - previous).days, 0)
                return item, round_half_up(
                    Decimal(item.owed[Component.INTEREST] * elapsed) / period
                )
            if item.arrangement_id is None:
                previous = item.due_date
        return None, 0

    def settle_early_if_covered(self, day: date) -> None:
        """Credit is pooled from earlier payments, so what it pays is booked as from credit."""
        future = [i for i in self.items if i.due_date > day and i.unpaid()]
        if not future:
            return
        current, accrued = self.accrued_interest(day)
        needed = accrued + sum(
            i.outstanding(Component.PRINCIPAL)
            if i.arrangement_id is None
            else sum(i.outstanding(c) for c in _COMPONENTS)
            for i in future
        )
        if self.credit < needed:
            return
        for item in future:
            if item.arrangement_id is None:
                item.owed[Component.INTEREST] = accrued if item is current else 0
            for component in self.terms.waterfall:
                take = item.outstanding(component)
                if take:
                    item.paid[component] += take
                    self.allocations.append(Allocation(day, item.seq, component, take, None))
        self.credit -= needed
        self.settled_early_on = day

    # -- arrangements -----------------------------------------------------------------------

    def start(self, arrangement: _Arrangement, day: date, as_of: date) -> None:
        """At the start of `day`, from the position at the end of the day before."""
        if self.active is not None:
            self.active.status = ArrangementStatus.SUPERSEDED
            self.active.ended_on = day
        self.accrue_penalty(day - timedelta(days=1))
        self.crystallise_penalties()
        self.active = arrangement
        terms = arrangement.terms
        if terms.kind is not ArrangementKind.SETTLEMENT:
            self.restructure(terms, day, as_of)
        for check in arrangement.check_days():
            self._schedule_day(check, as_of)

    def restructure(self, terms: ArrangementTerms, day: date, as_of: date) -> None:
        """Move what is owed, by component, onto the arrangement's own installments."""
        pool = dict.fromkeys(_COMPONENTS, 0)
        if terms.kind is ArrangementKind.INSTALLMENT:
            # Interest earned to date is owed; the rest of the contract's interest is replaced
            # by the plan's fee.
            _, accrued = self.accrued_interest(day - timedelta(days=1))
            pool[Component.INTEREST] += accrued
        for item in self.items:
            for c in _COMPONENTS:
                if (
                    c is not Component.PRINCIPAL
                    and item.due_date >= day
                    and (terms.kind is ArrangementKind.INSTALLMENT)
                ):
                    item.owed[c] = item.paid[c]  # future interest: never charged
                    continue
                pool[c] += item.outstanding(c)
                item.owed[c] = item.paid[c]
            item.restructured = True
            item.late = False  # its penalty moved too: nothing more is charged on it
            item.penalty_exact = Decimal(0)
        pool[Component.FEE] += terms.fee
        targets = _fit([r.amount for r in terms.rows], sum(pool.values()))
        next_seq = max((i.seq for i in self.items), default=0) + 1
        grace = timedelta(days=terms.grace_days + 1)
        for k, (row, target) in enumerate(zip(terms.rows, targets, strict=True)):
            owed = dict.fromkeys(_COMPONENTS, 0)
            left = target
            for c in self.terms.waterfall:
                take = min(left, pool[c])
                owed[c] += take
                pool[c] -= take
                left -= take
            item = _Installment(next_seq + k, row.due_date, row.due_date + grace, owed)
            item.arrangement_id = terms.id
            self.items.append(item)
            self._schedule_day(row.due_date, as_of)
            self._schedule_day(row.due_date + grace, as_of)
        self.items.sort(key=lambda i: (i.due_date, i.seq))  # the loops rely on date order

    def check_arrangement(self, day: date) -> None:
        """Break an active arrangement whose installment is unpaid after grace."""
        arrangement = self.active
        if arrangement is None:
            return
        terms = arrangement.terms
        grace = timedelta(days=terms.grace_days)
        if terms.kind is ArrangementKind.SETTLEMENT:
            needed = sum(r.amount for r in terms.rows if r.due_date + grace < day)
            missed = arrangement.paid_towards < needed
        else:
            missed = any(
                i.arrangement_id == terms.id and i.due_date + grace < day and i.unpaid()
                for i in self.items
            )
        if missed:
            self.end(ArrangementStatus.BROKEN, day)
            for item in self.items:  # late charges resume from today, none for the past
                if item.charge_on <= day and item.due_date < day and item.unpaid():
                    self.mark_late(item)

    def complete_if_done(self, day: date) -> None:
        arrangement = self.active
        if arrangement is None:
            return
        terms = arrangement.terms
        if terms.kind is ArrangementKind.SETTLEMENT:
            if arrangement.paid_towards >= terms.total:
                self.credit = self.pay(day, self.credit, None, all_items=True)
                self.waive_rest(day, terms.id)
                self.end(ArrangementStatus.COMPLETED, day)
        elif not any(i.arrangement_id == terms.id and i.unpaid() for i in self.items):
            self.end(ArrangementStatus.COMPLETED, day)

    def waive_rest(self, day: date, arrangement_id: int) -> None:
        for item in self.items:
            for c in _COMPONENTS:
                if c is not Component.PRINCIPAL and item.due_date > day:
                    item.owed[c] = item.paid[c]  # interest not yet earned: never charged
                left = item.outstanding(c)
                if left:
                    item.paid[c] += left
                    self.waivers.append(Waiver(day, item.seq, c, left, arrangement_id))

    def end(self, status: ArrangementStatus, day: date) -> None:
        assert self.active is not None
        self.active.status = status
        self.active.ended_on = day
        self.active = None

    # -- the day loop -------------------------------------------------------------------------

    def run(self, payments: Iterable[PaymentRecord], as_of: date) -> Statement:
        by_day: dict[date, list[PaymentRecord]] = {}
        for p in payments:
            if p.received_on < self.terms.disbursed_on:
                raise ValueError(f"payment {p.reference} is dated before the loan was paid out")
            if p.received_on <= as_of:
                by_day.setdefault(p.received_on, []).append(p)
        starts: dict[date, list[_Arrangement]] = {}
        for a in self.arrangements:
            if a.terms.starts_on <= as_of:
                starts.setdefault(a.terms.starts_on, []).append(a)
        for day in [*by_day, *starts, as_of]:
            self._schedule_day(day, as_of)
        for item in self.items:
            self._schedule_day(item.due_date, as_of)
            self._schedule_day(item.charge_on, as_of)
        done: date | None = None
        while self._days:
            day = heapq.heappop(self._days)
            if day != done:
                self.process_day(day, starts.get(day, ()), by_day.get(day, ()), as_of)
                done = day
        _, accrued = self.accrued_interest(as_of)
        settled_early = self.settled_early_on is not None
        return Statement(
            as_of=as_of,
            installments=tuple(i.freeze(as_of, settled_early) for i in self.items),
            allocations=tuple(self.allocations),
            waivers=tuple(self.waivers),
            credit=self.credit,
            accrued_interest=accrued,
            settled_early_on=self.settled_early_on,
            payments_total=sum(p.amount for ps in by_day.values() for p in ps),
            arrangements=tuple(
                a.outcome() for a in self.arrangements if a.terms.starts_on <= as_of
            ),
        )

    def process_day(
        self,
        day: date,
        starting: Iterable[_Arrangement],
        payments: Iterable[PaymentRecord],
        as_of: date,
    ) -> None:
        for arrangement in starting:
            self.start(arrangement, day, as_of)
        self.accrue_penalty(day)
        self.check_arrangement(day)
        for item in self.items:
            if item.due_date == day and self.credit:
                self.credit = self.pay(day, self.credit, None)
            if item.charge_on == day and not self.frozen:
                if item.unpaid():
                    self.mark_late(item)
                elif not item.late:
                    item.penalty_exact = Decimal(0)  # paid within grace: nothing charged
        self.crystallise_penalties()
        for payment in payments:
            if self.active is not None:
                self.active.paid_towards += payment.amount
            self.credit += self.pay(day, payment.amount, payment.reference)
            self.complete_if_done(day)
            if self.settled_early_on is None:
                self.settle_early_if_covered(day)
        self.complete_if_done(day)


def _fit(targets: list[int], total: int) -> list[int]:
    """Make the installments add up to `total` exactly: a payment back-dated before the start
    changes what is owed, and the last installments absorb the difference."""
    fitted = list(targets)
    diff = total - sum(fitted)
    if diff > 0:
        fitted[-1] += diff
    k = len(fitted) - 1
    while diff < 0 and k >= 0:
        cut = min(fitted[k], -diff)
        fitted[k] -= cut
        diff += cut
        k -= 1
    return fitted


def statement(
    terms: LoanTerms,
    schedule: Sequence[ScheduledInstallment],
    payments: Iterable[PaymentRecord],
    as_of: date,
    arrangements: Sequence[ArrangementTerms] = (),
) -> Statement:
    """The loan's position at the end of business day `as_of`, payments of that day included."""
    return _Replay(terms, schedule, arrangements).run(payments, as_of)
