"""Which repayment offers a loan gets, with their exact schedules: pure rules over plain data.

Every offer says what it settles, what it costs, and its installments; every plan kind a loan
does not get says why, because collectors and operations need to see the reason: in English
for them, and as a code with its figures so the assistant can say it in the borrower's language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from backend.ledger.arrangement import ArrangementKind, ArrangementRow
from backend.ledger.delinquency import Bucket
from backend.money import round_half_up
from backend.plans.paying import PayingRecord
from backend.plans.policy import InstallmentPolicy, PlanPolicy


@dataclass(frozen=True, slots=True)
class UnpaidInstallment:
    due_date: date
    amount: int  # everything still owed on it, scheduled interest included


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """The loan as offers see it: its position at the end of yesterday, and its history."""

    loan_ref: str
    exponent: int  # minor-unit digits of the loan's currency
    today: date
    dpd: int
    bucket: Bucket
    paid_off: bool
    balance: int  # owed now plus interest earned so far: what a plan or settlement settles
    unpaid: tuple[UnpaidInstallment, ...]  # what an extension moves
    arrangements: int = 0  # every arrangement the loan ever had
    broken: int = 0
    extensions: int = 0
    active_arrangement: bool = False
    record: PayingRecord | None = None  # what the borrower has shown they can pay


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    kind: ArrangementKind
    settles: int  # what the loan owes that this offer deals with
    fee: int
    discount: int  # waived when a settlement is paid in time
    rows: tuple[ArrangementRow, ...]
    needs_approval: bool
    grace_days: int
    why: str  # why the loan gets it
    term_months: int | None = None  # installment plan
    months: int | None = None  # extension
    discount_share: Decimal | None = None  # settlement
    parts: int | None = None  # settlement
    sized: bool = False  # a term between the policy's, fitted to what the borrower pays

    @property
    def total(self) -> int:
        """What the borrower pays under it."""
        return sum(r.amount for r in self.rows)

    @property
    def largest_payment(self) -> int:
        """The most it asks for on any one date."""
        return max(r.amount for r in self.rows)

    @property
    def cost(self) -> int:
        """What it adds to (a fee) or takes off (a discount) what the borrower owes."""
        return self.fee - self.discount


# Why a plan kind is not offered: the code, and the figures (`params`) the reason names.
NOT_OFFERED_CODES: dict[str, tuple[str, ...]] = {
    "loan_paid_off": (),
    "on_arrangement": (),
    "arrangement_limit": ("count", "limit"),
    "broken_arrangements": ("count",),
    "switched_off": (),
    "bucket_not_eligible": ("dpd", "bucket", "allowed"),
    "installment_below_minimum": ("term",),
    "dpd_outside_window": ("dpd", "min_dpd", "max_dpd"),
    "extension_limit": ("count",),
    "nothing_to_move": (),
    "still_due_after_move": ("months",),
    "no_settlement_band": ("dpd",),
    "balance_below_band_minimum": (),
    "no_discount": (),
}


@dataclass(frozen=True, slots=True)
class NotOffered:
    kind: str  # a plan kind, or "any"
    code: str  # one of NOT_OFFERED_CODES
    reason: str  # the same in English, for collectors and operations
    params: Mapping[str, str | int] = field(default_factory=dict)


def _minor(amount: Decimal, exponent: int) -> int:
    return round_half_up(amount.scaleb(exponent))


def _split(total: int, parts: int) -> list[int]:
    """Equal parts in minor units, the remainder on the last."""
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]


def _offer_id(facts: LoanFacts, kind: ArrangementKind, *key: object) -> str:
    """Identifies an offer as computed today from today's figures: if the figures change, the
    old id no longer matches and accepting it is refused as no longer valid."""
    text = "|".join(str(x) for x in (facts.loan_ref, facts.today, facts.balance, kind, *key))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def offers(facts: LoanFacts, policy: PlanPolicy) -> tuple[list[Offer], list[NotOffered]]:
    if facts.paid_off or facts.balance <= 0:
        return [], [NotOffered("any", "loan_paid_off", "the loan is paid off")]
    if facts.active_arrangement:
        return [], [NotOffered("any", "on_arrangement", "the loan is already on an arrangement")]
    limits = policy.limits
    if facts.arrangements >= limits.max_arrangements_per_loan:
        return [], [
            NotOffered(
                "any",
                "arrangement_limit",
                f"the loan has had {facts.arrangements} arrangements; the limit is "
                f"{limits.max_arrangements_per_loan}",
                {"count": facts.arrangements, "limit": limits.max_arrangements_per_loan},
            )
        ]
    if facts.broken >= limits.max_broken_arrangements:
        return [], [
            NotOffered(
                "any",
                "broken_arrangements",
                f"{facts.broken} arrangements were broken: a person decides now",
                {"count": facts.broken},
            )
        ]
    made: list[Offer] = []
    refused: list[NotOffered] = []
    for build in (_installment_offers, _extension_offers, _settlement_offers):
        got, why_not = build(facts, policy)
        made += got
        refused += why_not
    return made, refused


def _installment_offers(
    facts: LoanFacts, policy: PlanPolicy
) -> tuple[list[Offer], list[NotOffered]]:
    p = policy.installment
    kind = ArrangementKind.INSTALLMENT
    if not p.enabled:
        return [], [NotOffered(kind, "switched_off", "installment plans are switched off")]
    if facts.bucket not in p.eligible_buckets:
        allowed = ", ".join(b.value for b in p.eligible_buckets)
        return [], [
            NotOffered(
                kind,
                "bucket_not_eligible",
                f"{facts.dpd} days past due (bucket {facts.bucket}) is not in {allowed}",
                {"dpd": facts.dpd, "bucket": str(facts.bucket), "allowed": allowed},
            )
        ]
    minimum = max(_minor(p.min_installment, facts.exponent), 1)
    terms = list(p.terms_months)
    sized = _sized_term(facts, policy, minimum)
    if sized is not None and sized not in terms:
        terms = sorted([*terms, sized])
    made, refused = [], []
    for term in terms:
        fee, down, monthly = _installment_parts(facts, p, term)
        if min(monthly) < minimum:
            refused.append(
                NotOffered(
                    kind,
                    "installment_below_minimum",
                    f"{term} months would make installments below the minimum",
                    {"term": term},
                )
            )
            continue
        rows = [ArrangementRow(facts.today, down)] if down else []
        rows += [
            ArrangementRow(facts.today + relativedelta(months=k), amount)
            for k, amount in enumerate(monthly, start=1)
        ]
        why = f"{facts.dpd} days past due is in bucket {facts.bucket}"
        fitted = term == sized and term not in p.terms_months
        if fitted:
            why += (
                f"; {term} months is the shortest term within {terms[0]}-{terms[-1]} whose "
                "payments fit what the borrower pays a month"
            )
        made.append(
            Offer(
                id=_offer_id(facts, kind, term),
                kind=kind,
                settles=facts.balance,
                fee=fee,
                discount=0,
                rows=tuple(rows),
                needs_approval=False,
                grace_days=p.grace_days,
                why=why,
                term_months=term,
                sized=fitted,
            )
        )
    return made, refused


def _installment_parts(
    facts: LoanFacts, p: InstallmentPolicy, term: int
) -> tuple[int, int, list[int]]:
    """The fee, the down payment and the monthly installments of a `term`-month plan."""
    fee = round_half_up(facts.balance * p.monthly_fee_rate * term)
    total = facts.balance + fee
    down = round_half_up(total * p.down_payment_share)
    return fee, down, _split(total - down, term)


def _sized_term(facts: LoanFacts, policy: PlanPolicy, minimum: int) -> int | None:
    """The shortest term within the policy's shortest and longest whose every payment fits
    what the borrower has shown they can pay; None when none does or nothing tells."""
    terms = policy.installment.terms_months
    if facts.record is None or not policy.personal.fit_terms:
        return None
    allowance = facts.record.allowance(policy.personal)
    if allowance is None:
        return None
    for term in range(terms[0], terms[-1] + 1):
        _, down, monthly = _installment_parts(facts, policy.installment, term)
        if min(monthly) >= minimum and max(down, *monthly) <= allowance:
            return term
    return None


def _extension_offers(facts: LoanFacts, policy: PlanPolicy) -> tuple[list[Offer], list[NotOffered]]:
    p = policy.extension
    kind = ArrangementKind.EXTENSION
    if not p.enabled:
        return [], [NotOffered(kind, "switched_off", "extensions are switched off")]
    if not p.min_dpd <= facts.dpd <= p.max_dpd:
        return [], [
            NotOffered(
                kind,
                "dpd_outside_window",
                f"{facts.dpd} days past due is outside {p.min_dpd}-{p.max_dpd}",
                {"dpd": facts.dpd, "min_dpd": p.min_dpd, "max_dpd": p.max_dpd},
            )
        ]
    if facts.extensions >= p.max_per_loan:
        return [], [
            NotOffered(
                kind,
                "extension_limit",
                f"the loan already had {facts.extensions} extension(s)",
                {"count": facts.extensions},
            )
        ]
    if not facts.unpaid:
        return [], [NotOffered(kind, "nothing_to_move", "nothing is left to move")]
    made, refused = [], []
    moved = sum(u.amount for u in facts.unpaid)
    fee = round_half_up(moved * p.fee_share)
    for months in p.months:
        dates = [u.due_date + relativedelta(months=months) for u in facts.unpaid]
        if dates[0] <= facts.today:
            refused.append(
                NotOffered(
                    kind,
                    "still_due_after_move",
                    f"moved by {months} month(s), the oldest installment is still due",
                    {"months": months},
                )
            )
            continue
        amounts = [u.amount for u in facts.unpaid]
        amounts[0] += fee
        made.append(
            Offer(
                id=_offer_id(facts, kind, months, moved),
                kind=kind,
                settles=moved,
                fee=fee,
                discount=0,
                rows=tuple(ArrangementRow(d, a) for d, a in zip(dates, amounts, strict=True)),
                needs_approval=False,
                grace_days=p.grace_days,
                why=f"{facts.dpd} days past due is within {p.min_dpd}-{p.max_dpd}",
                months=months,
            )
        )
    return made, refused


def _settlement_offers(
    facts: LoanFacts, policy: PlanPolicy
) -> tuple[list[Offer], list[NotOffered]]:
    p = policy.settlement
    kind = ArrangementKind.SETTLEMENT
    if not p.enabled:
        return [], [NotOffered(kind, "switched_off", "settlements are switched off")]
    band = next((b for b in p.bands if b.covers(facts.dpd)), None)
    if band is None:
        return [], [
            NotOffered(
                kind,
                "no_settlement_band",
                f"no settlement band covers {facts.dpd} days past due",
                {"dpd": facts.dpd},
            )
        ]
    if facts.balance < _minor(band.min_balance, facts.exponent):
        return [], [
            NotOffered(
                kind,
                "balance_below_band_minimum",
                "the balance is below the band's minimum for a settlement",
            )
        ]
    levels = [(band.bot_discount, False)]
    if band.max_discount > band.bot_discount:
        levels.append((band.max_discount, True))
    made = []
    for share, needs_approval in levels:
        if share == 0:
            continue
        discount = round_half_up(facts.balance * share)
        pay = facts.balance - discount
        first = facts.today + timedelta(days=p.pay_within_days)
        for parts in p.parts:
            if pay < parts:  # too little to split: no part may be zero
                continue
            rows = tuple(
                ArrangementRow(first + relativedelta(months=k), amount)
                for k, amount in enumerate(_split(pay, parts))
            )
            made.append(
                Offer(
                    id=_offer_id(facts, kind, share, parts),
                    kind=kind,
                    settles=facts.balance,
                    fee=0,
                    discount=discount,
                    rows=rows,
                    needs_approval=needs_approval,
                    grace_days=p.grace_days,
                    why=f"{facts.dpd} days past due is in the band from {band.min_dpd} days",
                    discount_share=share,
                    parts=parts,
                )
            )
    refused = [] if made else [NotOffered(kind, "no_discount", "the band grants no discount")]
    return made, refused
