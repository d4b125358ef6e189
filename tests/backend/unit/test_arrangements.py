"""Arrangements in the ledger: offers' figures, then the loan's figures under each kind."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.ledger.arrangement import ArrangementKind, ArrangementStatus, ArrangementTerms
from backend.ledger.delinquency import bucket_for
from backend.ledger.schedule import build_schedule
from backend.ledger.statement import PaymentRecord, Statement, statement
from backend.ledger.terms import Component
from backend.plans.policy import PlanPolicy
from backend.plans.rules import LoanFacts, Offer, UnpaidInstallment, offers
from tests.backend.unit.test_statement import LOAN, SCHEDULE, histories

BAND = {"min_dpd": 91, "max_dpd": 180, "bot_discount": "0.10", "max_discount": "0.25"}
POLICY = PlanPolicy.model_validate(
    {
        "settlement": {
            "parts": [1, 2],
            "bands": [
                {"min_dpd": 91, "max_dpd": 180, "bot_discount": "0.10", "max_discount": "0.25"}
            ],
        }
    }
)


def facts_on(today: date, *payments: tuple[int, date], arrangements: int = 0) -> LoanFacts:
    """What offers see of LOAN today: its position at the end of yesterday."""
    records = [PaymentRecord(f"p{k}", a, d) for k, (a, d) in enumerate(payments)]
    before = statement(LOAN, SCHEDULE, records, today - timedelta(days=1))
    now = statement(LOAN, SCHEDULE, records, today)
    return LoanFacts(
        loan_ref="L1",
        exponent=2,
        today=today,
        dpd=now.dpd,
        bucket=now.bucket,
        paid_off=now.paid_off,
        balance=before.total_outstanding + before.accrued_interest,
        unpaid=tuple(
            UnpaidInstallment(i.due_date, i.total_outstanding)
            for i in before.installments
            if not i.settled
        ),
        arrangements=arrangements,
    )


def accept(offer: Offer, starts_on: date, arrangement_id: int = 1) -> ArrangementTerms:
    return ArrangementTerms(
        arrangement_id, offer.kind, starts_on, offer.rows, offer.fee, offer.grace_days
    )


def under(arrangement: ArrangementTerms, as_of: date, *payments: tuple[int, date]) -> Statement:
    records = [PaymentRecord(f"p{k}", a, d) for k, (a, d) in enumerate(payments)]
    return statement(LOAN, SCHEDULE, records, as_of, [arrangement])


def pick(made: list[Offer], kind: ArrangementKind, **key: object) -> Offer:
    return next(
        o for o in made if o.kind is kind and all(getattr(o, k) == v for k, v in key.items())
    )


TODAY = date(2026, 4, 1)  # LOAN is 45 days late


class TestInstallmentPlanOffer:
    """12,411.13 owed at the end of 31 March: 12,000.00 principal, 230.54 interest, 100.00
    fees, 28.47 penalty (20.82 + 7.65), and 52.12 of April's interest earned so far."""

    made, refused = offers(facts_on(TODAY), POLICY)
    plan = pick(made, ArrangementKind.INSTALLMENT, term_months=3)

    def test_what_it_settles_and_costs(self) -> None:
        assert self.plan.settles == 1_241_113
        assert self.plan.fee == 18_617  # 0.5% x 3 months of 12,411.13
        assert self.plan.total == 1_241_113 + 18_617

    def test_down_payment_today_then_three_equal_months(self) -> None:
        assert [(r.due_date, r.amount) for r in self.plan.rows] == [
            (date(2026, 4, 1), 125_973),  # 10% of 12,597.30
            (date(2026, 5, 1), 377_919),
            (date(2026, 6, 1), 377_919),
            (date(2026, 7, 1), 377_919),
        ]

    def test_terms_below_the_minimum_installment_are_refused_with_a_reason(self) -> None:
        small = PlanPolicy.model_validate({"installment": {"min_installment": 4000}})
        made, refused = offers(facts_on(TODAY), small)
        assert [o.term_months for o in made if o.kind is ArrangementKind.INSTALLMENT] == []
        assert any("below the minimum" in r.reason for r in refused)

    def test_a_policy_amount_beyond_the_maximum_is_refused_at_start_up(self) -> None:
        for policy in (
            {"installment": {"min_installment": "1e70"}},
            {"settlement": {"bands": [{**BAND, "min_balance": "1000000000000"}]}},
        ):
            with pytest.raises(ValidationError, match="less than 1000000000000"):
                PlanPolicy.model_validate(policy)

    def test_a_current_loan_gets_no_plan_and_is_told_why(self) -> None:
        made, refused = offers(facts_on(date(2026, 2, 20), (106_619, date(2026, 2, 15))), POLICY)
        assert not [o for o in made if o.kind is ArrangementKind.INSTALLMENT]
        assert any("bucket current" in r.reason for r in refused)


class TestInstallmentPlanInTheLedger:
    plan = accept(
        pick(offers(facts_on(TODAY), POLICY)[0], ArrangementKind.INSTALLMENT, term_months=3), TODAY
    )
    on_time = (
        (125_973, date(2026, 4, 1)),
        (377_919, date(2026, 5, 1)),
        (377_919, date(2026, 6, 1)),
    )

    def test_kept_plan_pays_the_loan_off_with_no_more_late_charges(self) -> None:
        s = under(self.plan, date(2026, 7, 1), *self.on_time, (377_919, date(2026, 7, 1)))
        assert s.paid_off and s.credit == 0
        assert [a.status for a in s.arrangements] == [ArrangementStatus.COMPLETED]
        assert s.paid_total == self.plan.total

    def test_while_kept_the_loan_is_not_past_due(self) -> None:
        s = under(self.plan, date(2026, 4, 20), (125_973, date(2026, 4, 1)))
        # the down payment took the fees, penalty and interest first (the waterfall)
        assert (s.dpd, s.overdue_amount, s.penalty_outstanding, s.fees_outstanding) == (0, 0, 0, 0)
        assert s.next_due == (date(2026, 5, 1), 377_919)
        assert s.active_arrangement is not None

    def test_a_missed_installment_breaks_it_after_grace(self) -> None:
        s = under(self.plan, date(2026, 5, 5), (125_973, date(2026, 4, 1)))
        assert s.arrangements[0].status is ArrangementStatus.BROKEN
        assert s.arrangements[0].ended_on == date(2026, 5, 5)
        assert s.dpd == 4
        assert s.fees_outstanding == 5000  # the loan's late fee on the missed installment
        # penalty resumes from the break, on the missed installment's principal only
        later = under(self.plan, date(2026, 5, 15), (125_973, date(2026, 4, 1)))
        missed = next(i for i in later.installments if i.due_date == date(2026, 5, 1))
        assert missed.owed[Component.PENALTY] > 0


class TestSettlement:
    day = date(2026, 5, 26)  # 100 days past due: the 91-180 band, 10% by the assistant alone

    def test_paid_in_time_waives_the_rest(self) -> None:
        made, _ = offers(facts_on(self.day), POLICY)
        offer = pick(made, ArrangementKind.SETTLEMENT, parts=1, discount_share=Decimal("0.10"))
        assert not offer.needs_approval
        assert offer.total == offer.settles - offer.discount
        assert offer.rows[0].due_date == self.day + timedelta(days=7)
        s = under(accept(offer, self.day), date(2026, 12, 31), (offer.total, date(2026, 5, 30)))
        assert s.paid_off and s.arrangements[0].status is ArrangementStatus.COMPLETED
        assert s.waived_total > 0
        assert s.charged_total - s.paid_total - s.waived_total == 0

    def test_the_larger_discount_needs_a_supervisor(self) -> None:
        made, _ = offers(facts_on(self.day), POLICY)
        big = pick(made, ArrangementKind.SETTLEMENT, parts=1, discount_share=Decimal("0.25"))
        assert big.needs_approval

    def test_missed_it_is_broken_and_nothing_is_waived(self) -> None:
        made, _ = offers(facts_on(self.day), POLICY)
        offer = pick(made, ArrangementKind.SETTLEMENT, parts=1, discount_share=Decimal("0.10"))
        s = under(accept(offer, self.day), date(2026, 6, 20), (offer.total // 2, date(2026, 5, 30)))
        assert s.arrangements[0].status is ArrangementStatus.BROKEN
        assert s.arrangements[0].ended_on == offer.rows[0].due_date + timedelta(days=4)
        assert s.waived_total == 0 and not s.paid_off


class TestExtension:
    def test_moves_the_unpaid_installments_a_month_for_a_fee(self) -> None:
        day = date(2026, 2, 25)  # 10 days past due
        made, _ = offers(facts_on(day), POLICY)
        ext = pick(made, ArrangementKind.EXTENSION, months=1)
        assert ext.rows[0].due_date == date(2026, 3, 15)
        assert len(ext.rows) == 12 and ext.total == ext.settles + ext.fee
        s = under(accept(ext, day), date(2026, 3, 10))
        assert (s.dpd, s.overdue_amount) == (0, 0)
        assert s.next_due is not None and s.next_due[0] == date(2026, 3, 15)


# --- properties --------------------------------------------------------------------------------


@st.composite
def arranged_histories(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    terms, payments, as_of = draw(histories())
    schedule = build_schedule(terms)
    start = terms.disbursed_on + timedelta(days=draw(st.integers(1, terms.term_months * 31 + 200)))
    records_before = [p for p in payments if p.received_on < start]
    before = statement(terms, schedule, records_before, start - timedelta(days=1))
    now = statement(terms, schedule, records_before, start)
    facts = LoanFacts(
        "L",
        2,
        start,
        now.dpd,
        now.bucket,
        now.paid_off,
        before.total_outstanding + before.accrued_interest,
        tuple(
            UnpaidInstallment(i.due_date, i.total_outstanding)
            for i in before.installments
            if not i.settled
        ),
    )
    policy = PlanPolicy.model_validate(
        {
            "installment": {
                "eligible_buckets": [b.value for b in set(map(bucket_for, range(0, 400, 10)))],
                "min_installment": 0,
            },
            "extension": {"min_dpd": 0, "max_dpd": 400},
            "settlement": {
                "parts": [1, 3],
                "bands": [{"min_dpd": 0, "bot_discount": "0.2", "max_discount": "0.3"}],
            },
        }
    )
    made, _ = offers(facts, policy)
    if not made:
        return terms, payments, as_of, None, None
    offer = draw(st.sampled_from(made))
    return (
        terms,
        payments,
        as_of,
        offer,
        ArrangementTerms(1, offer.kind, start, offer.rows, offer.fee, offer.grace_days),
    )


class TestArrangementProperties:
    @settings(max_examples=300, deadline=None)
    @given(arranged_histories())
    def test_the_ledger_stays_exact_under_any_arrangement(self, case) -> None:  # type: ignore[no-untyped-def]
        terms, payments, as_of, _, arrangement = case
        s = statement(
            terms, build_schedule(terms), payments, as_of, [arrangement] if arrangement else []
        )
        received = sum(p.amount for p in payments if p.received_on <= as_of)
        assert s.paid_total + s.credit == received
        assert s.charged_total - s.paid_total - s.waived_total == s.total_outstanding
        for i in s.installments:
            for c in Component:
                assert 0 <= i.paid[c] <= i.owed[c]
        assert len(s.arrangements) <= 1
        for a in s.arrangements:
            assert a.status in ArrangementStatus

    @settings(max_examples=300, deadline=None)
    @given(arranged_histories())
    def test_an_offers_installments_add_up_to_what_it_settles(self, case) -> None:  # type: ignore[no-untyped-def]
        _, _, _, offer, _ = case
        if offer is None:
            return
        assert offer.total == offer.settles + offer.fee - offer.discount
        assert all(r.amount > 0 for r in offer.rows)
