"""Personalised offers: what the borrower has shown they can pay orders (and, within policy,
sizes) the offers, and says why the first is first. The policy stays the ceiling."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.ledger.arrangement import ArrangementKind
from backend.ledger.delinquency import Bucket
from backend.plans.order import FIRST_BECAUSE, order
from backend.plans.paying import PayingRecord, monthly_totals, months_due
from backend.plans.policy import PersonalPolicy, PlanPolicy
from backend.plans.rules import LoanFacts, Offer, UnpaidInstallment, offers

TODAY = date(2026, 6, 15)
POLICY = PlanPolicy.model_validate(
    {
        "installment": {"terms_months": [3, 6, 12], "min_installment": 50},
        "settlement": {
            "parts": [1, 2],
            "bands": [{"min_dpd": 1, "bot_discount": "0.05", "max_discount": "0.15"}],
        },
    }
)
PERSONAL = POLICY.personal


def facts(
    record: PayingRecord | None, *, balance: int = 1_200_000, dpd: int = 20, unpaid: int = 110_000
) -> LoanFacts:
    """A loan 20 days late owing 12,000.00, one installment of 1,100.00 unpaid."""
    return LoanFacts(
        loan_ref="L1",
        exponent=2,
        today=TODAY,
        dpd=dpd,
        bucket=Bucket.DPD_1_30,
        paid_off=False,
        balance=balance,
        unpaid=(UnpaidInstallment(date(2026, 5, 26), unpaid),),
        record=record,
    )


def paid(*months: int, kept: int = 0, not_kept: int = 0, hardship: bool = False) -> PayingRecord:
    return PayingRecord(tuple(months), kept, not_kept, hardship)


def ranked(record: PayingRecord | None, policy: PlanPolicy = POLICY) -> tuple[list[Offer], str]:
    made, _ = offers(facts(record), policy)
    result = order(made, record, policy.personal)
    return result.offers, result.first_because.code if result.first_because else ""


def label(o: Offer) -> str:
    if o.kind is ArrangementKind.INSTALLMENT:
        return f"installment {o.term_months}"
    if o.kind is ArrangementKind.EXTENSION:
        return f"extension {o.months}"
    return f"settlement {o.discount_share} x{o.parts}"


class TestWhatTheBorrowerPays:
    def test_the_median_of_the_months(self) -> None:
        assert paid(100, 900, 300).median(PERSONAL) == 300
        assert paid(100, 300, 900, 0).median(PERSONAL) == 200
        assert paid(100, 101, 5, 7).median(PERSONAL) == 54  # 53.5 rounds half up

    def test_too_few_months_tell_nothing(self) -> None:
        assert paid(100, 100).median(PERSONAL) is None
        assert paid(100, 100).allowance(PERSONAL) is None

    def test_the_margin_is_wider_for_a_borrower_who_kept_every_promise(self) -> None:
        assert paid(1000, 1000, 1000).allowance(PERSONAL) == 1100
        assert paid(1000, 1000, 1000, kept=2).allowance(PERSONAL) == 1250
        assert paid(1000, 1000, 1000, kept=2, not_kept=1).allowance(PERSONAL) == 1100
        assert paid(1000, 1000, 1000, kept=2, hardship=True).allowance(PERSONAL) == 1000

    def test_the_months_are_complete_ones_from_the_first_due_date_on(self) -> None:
        assert months_due(date(2026, 1, 20), TODAY, 6) == [
            (date(2026, m, 1), date(2026, m + 1, 1)) for m in range(1, 6)
        ]
        assert months_due(date(2026, 6, 1), TODAY, 6) == []
        assert months_due(date(2025, 1, 1), date(2026, 1, 31), 2) == [
            (date(2025, 11, 1), date(2025, 12, 1)),
            (date(2025, 12, 1), date(2026, 1, 1)),
        ]

    def test_a_month_with_nothing_paid_counts_as_nothing(self) -> None:
        ranges = months_due(date(2026, 3, 5), TODAY, 6)
        payments = [(date(2026, 3, 5), 500), (date(2026, 3, 20), 200), (date(2026, 5, 31), 900)]
        assert monthly_totals(payments, ranges) == (700, 0, 900)

    def test_the_policy_is_checked(self) -> None:
        with pytest.raises(ValidationError):
            PersonalPolicy(months=3, min_months=4)
        with pytest.raises(ValidationError):
            PersonalPolicy(margin=Decimal("0.3"), kept_margin=Decimal("0.2"))


class TestWhichComesFirst:
    def test_nothing_to_go_by_keeps_the_policys_order(self) -> None:
        made, _ = offers(facts(None), POLICY)
        assert ranked(None) == (made, "")
        assert ranked(paid(5000, 5000)) == (made, "")  # too few months
        off = POLICY.model_copy(update={"personal": PersonalPolicy(enabled=False)})
        assert ranked(paid(5000, 5000, 5000), off) == (made, "")

    def test_the_cheapest_plan_that_fits_what_the_borrower_pays_comes_first(self) -> None:
        # 1,200.00 a month, 1,320.00 with the margin: the extension (1,122.00 next month) and
        # the 9- and 12-month plans (a 10% down payment of about 1,260.00) fit; the extension
        # costs least. The settlements cost less still, but ask for 5,100.00 at once.
        made, code = ranked(paid(120_000, 120_000, 120_000))
        assert [label(o) for o in made[:3]] == ["extension 1", "installment 9", "installment 12"]
        assert code == "fits_payments"
        assert all(o.largest_payment <= 132_000 for o in made[:3])
        assert all(o.largest_payment > 132_000 for o in made[3:])
        assert min(o.cost for o in made) < made[0].cost  # a cheaper one that does not fit

    def test_the_term_is_sized_to_the_borrower_within_the_policy(self) -> None:
        # The policy lists 3, 6 and 12 months; 9 is the shortest whose payments fit 1,320.00.
        made, _ = offers(facts(paid(120_000, 120_000, 120_000)), POLICY)
        sized = [o for o in made if o.sized]
        assert [o.term_months for o in sized] == [9]
        assert sized[0].largest_payment <= 132_000
        eight = offers(
            facts(None),
            POLICY.model_copy(
                update={"installment": POLICY.installment.model_copy(update={"terms_months": [8]})}
            ),
        )[0]
        assert (
            next(o for o in eight if o.kind is ArrangementKind.INSTALLMENT).largest_payment
            > 132_000
        )

    def test_a_sized_term_is_not_offered_when_the_policy_says_not_to(self) -> None:
        no_fit = POLICY.model_copy(update={"personal": PersonalPolicy(fit_terms=False)})
        made, _ = offers(facts(paid(120_000, 120_000, 120_000)), no_fit)
        assert {o.term_months for o in made if o.kind is ArrangementKind.INSTALLMENT} == {3, 6, 12}

    def test_kept_promises_widen_what_fits(self) -> None:
        # 1,000.00 a month: the extension's 1,122.00 is above 1,100.00, within 1,250.00.
        plain = ranked(paid(100_000, 100_000, 100_000))
        trusted = ranked(paid(100_000, 100_000, 100_000, kept=2))
        assert plain[1] == "closest_to_payments"
        assert label(trusted[0][0]) == "extension 1" and trusted[1] == "kept_promises"

    def test_hardship_puts_the_smallest_payments_first(self) -> None:
        made, code = ranked(paid(120_000, 120_000, 120_000, hardship=True))
        assert code == "hardship"
        sizes = [o.largest_payment for o in made]
        assert sizes == sorted(sizes)
        no_median, code = ranked(paid(hardship=True))
        assert code == "hardship" and no_median[0].largest_payment == min(
            o.largest_payment for o in no_median
        )

    def test_nothing_paid_lately_puts_the_smallest_payments_first(self) -> None:
        made, code = ranked(paid(0, 0, 50_000, 0))
        assert code == "nothing_paid"
        assert made[0].largest_payment == min(o.largest_payment for o in made)

    def test_when_nothing_fits_the_smallest_payments_come_first(self) -> None:
        made, code = ranked(paid(1_000, 1_000, 1_000))  # 10.00 a month
        assert code == "closest_to_payments"
        assert made[0].largest_payment == min(o.largest_payment for o in made)

    def test_the_cheapest_that_fits_is_first_even_if_a_supervisor_must_approve_it(self) -> None:
        made, code = ranked(paid(2_000_000, 2_000_000, 2_000_000))  # pays anything
        assert code == "fits_payments"
        costs = [o.cost for o in made]
        assert costs == sorted(costs)
        assert made[0].kind is ArrangementKind.SETTLEMENT and made[0].needs_approval

    def test_every_reason_names_only_its_figures(self) -> None:
        for record in (
            paid(120_000, 120_000, 120_000),
            paid(100_000, 100_000, 100_000, kept=2),
            paid(1_000, 1_000, 1_000),
            paid(0, 0, 0),
            paid(hardship=True),
        ):
            made, _ = offers(facts(record), POLICY)
            because = order(made, record, PERSONAL).first_because
            assert because is not None
            text = because.reason(lambda minor: f"{minor / 100:.2f}")
            assert "{" not in text and because.code in FIRST_BECAUSE


records = st.builds(
    PayingRecord,
    monthly=st.lists(st.integers(0, 3_000_000), max_size=8).map(tuple),
    kept=st.integers(0, 4),
    not_kept=st.integers(0, 2),
    hardship=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    record=records,
    balance=st.integers(10_000, 50_000_000),
    dpd=st.integers(1, 400),
    unpaid=st.integers(1, 5_000_000),
)
def test_ordering_only_orders_and_sizing_stays_within_policy(
    record: PayingRecord, balance: int, dpd: int, unpaid: int
) -> None:
    f = facts(record, balance=balance, dpd=dpd, unpaid=min(unpaid, balance))
    made, refused = offers(f, POLICY)
    plain, plain_refused = offers(
        facts(None, balance=balance, dpd=dpd, unpaid=f.unpaid[0].amount), POLICY
    )
    result = order(made, record, PERSONAL)
    # the same offers, each once; only a sized installment term is added
    assert sorted(o.id for o in result.offers) == sorted(o.id for o in made)
    assert {o.id for o in plain} <= {o.id for o in made}
    extra = [o for o in made if o.id not in {p.id for p in plain}]
    assert all(o.sized for o in extra) and len(extra) <= 1
    for o in extra:
        terms = POLICY.installment.terms_months
        assert o.term_months is not None and terms[0] < o.term_months < terms[-1]
        assert min(r.amount for r in o.rows[1:]) >= 5_000
        allowance = record.allowance(PERSONAL)
        assert allowance is not None and o.largest_payment <= allowance
    assert [r.code for r in refused] == [r.code for r in plain_refused] or extra
    # what fits comes before what does not; hardship: the smallest payments first
    if record.hardship and result.offers:
        sizes = [o.largest_payment for o in result.offers]
        assert sizes == sorted(sizes)
    elif result.fits and result.first_because and result.first_because.code != "nothing_paid":
        flags = [result.fits[o.id] for o in result.offers]
        assert flags == sorted(flags, reverse=True)
