from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.ledger.delinquency import bucket_for
from backend.ledger.posting import PostedPayment, PostingOutcome, classify
from backend.ledger.schedule import build_schedule
from backend.ledger.statement import PaymentRecord, Statement, statement
from backend.ledger.terms import Component, LateCharges, LoanTerms, ScheduleType

FEE, PENALTY, INTEREST, PRINCIPAL = Component

# 12,000.00 at 12% over 12 months, paid out 15 Jan 2026: 1,066.19 due on the 15th of each
# month. Penalty interest 0.05% a day on overdue principal, a 50.00 late fee, 3 days' grace.
LOAN = LoanTerms(
    principal=1_200_000,
    annual_rate=Decimal("0.12"),
    term_months=12,
    schedule_type=ScheduleType.ANNUITY,
    disbursed_on=date(2026, 1, 15),
    late_charges=LateCharges(penalty_daily_rate=Decimal("0.0005"), late_fee=5000, grace_days=3),
)
SCHEDULE = build_schedule(LOAN)


def at(as_of: date, *payments: tuple[int, date]) -> Statement:
    records = [PaymentRecord(f"p{k}", amount, day) for k, (amount, day) in enumerate(payments)]
    return statement(LOAN, SCHEDULE, records, as_of)


class TestLoan45DaysLate:
    """Nothing paid; as of 1 April the 15 Feb installment is 45 days late."""

    st = at(date(2026, 4, 1))

    def test_days_past_due_and_bucket(self) -> None:
        assert (self.st.dpd, self.st.bucket.value) == (45, "31-60")

    def test_penalty_interest_per_day_on_overdue_principal(self) -> None:
        # 946.19 x 0.05% x 45 days = 21.29 (Feb); 955.65 x 0.05% x 17 days = 8.12 (Mar)
        owed = [i.owed[PENALTY] for i in self.st.installments[:2]]
        assert owed == [2129, 812]
        assert self.st.penalty_outstanding == 2941

    def test_one_late_fee_per_missed_installment(self) -> None:
        assert self.st.fees_outstanding == 10_000

    def test_balance_breakdown(self) -> None:
        assert self.st.principal_outstanding == 1_200_000
        assert self.st.interest_outstanding == 23_054  # 120.00 + 110.54
        assert self.st.overdue_amount == 2 * 106_619 + 10_000 + 2941  # 2,261.79
        assert self.st.total_outstanding == 1_200_000 + 23_054 + 10_000 + 2941
        # April's interest so far: 100.98 x 17/31 days = 55.38
        assert self.st.accrued_interest == 5538
        assert self.st.payoff_amount == 1_241_533  # 12,415.33
        assert self.st.next_due == (date(2026, 4, 15), 106_619)

    def test_paying_the_overdue_amount_cures_the_loan(self) -> None:
        cured = at(date(2026, 4, 1), (226_179, date(2026, 4, 1)))
        assert (cured.dpd, cured.overdue_amount, cured.credit) == (0, 0, 0)
        first = [(a.seq, a.component, a.amount) for a in cured.allocations[:4]]
        assert first == [
            (1, FEE, 5000),
            (1, PENALTY, 2129),
            (1, INTEREST, 12_000),
            (1, PRINCIPAL, 94_619),
        ]


class TestGraceDays:
    def test_paid_within_grace_costs_nothing_extra(self) -> None:
        s = at(date(2026, 3, 1), (106_619, date(2026, 2, 18)))
        first = s.installments[0]
        assert first.settled and first.owed[FEE] == 0 and first.owed[PENALTY] == 0

    def test_after_grace_penalty_counts_from_the_due_date(self) -> None:
        s = at(date(2026, 2, 19))  # day 4: grace over, still unpaid
        assert s.installments[0].owed[FEE] == 5000
        assert s.installments[0].owed[PENALTY] == 189  # 946.19 x 0.05% x 4 days = 1.89

    def test_late_fee_is_charged_once(self) -> None:
        s = at(date(2026, 3, 14), (1000, date(2026, 2, 25)))
        assert s.installments[0].owed[FEE] == 5000


class TestCreditAndPayoff:
    def test_overpayment_is_kept_and_applied_on_the_next_due_date(self) -> None:
        before = at(date(2026, 3, 1), (120_000, date(2026, 2, 15)))
        assert before.credit == 120_000 - 106_619
        assert before.next_due == (date(2026, 3, 15), 106_619 - 13_381)
        after = at(date(2026, 3, 15), (120_000, date(2026, 2, 15)))
        assert after.credit == 0
        assert after.installments[1].total_outstanding == 106_619 - 13_381

    def test_paying_the_payoff_amount_closes_the_loan_and_waives_later_interest(self) -> None:
        day = date(2026, 1, 30)
        quote = at(day).payoff_amount
        assert quote == 1_200_000 + 5806  # 15 of 31 days of 120.00 interest
        closed = at(date(2026, 12, 31), (quote, day))
        assert closed.paid_off and closed.settled_early_on == day
        assert (closed.credit, closed.total_outstanding, closed.dpd) == (0, 0, 0)
        assert closed.installments[0].owed[INTEREST] == 5806
        assert all(i.owed[INTEREST] == 0 for i in closed.installments[1:])

    def test_payment_on_the_due_date_is_on_time(self) -> None:
        s = at(date(2026, 2, 15), (106_619, date(2026, 2, 15)))
        assert (s.dpd, s.due_now, s.installments[0].settled) == (0, 0, True)


# --- properties over random loans and payment histories ---------------------------------

loans = st.builds(
    LoanTerms,
    principal=st.integers(min_value=100, max_value=10**8),
    annual_rate=st.decimals(min_value=0, max_value=Decimal("0.36"), places=4),
    term_months=st.integers(min_value=1, max_value=24),
    schedule_type=st.sampled_from(ScheduleType),
    disbursed_on=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    late_charges=st.builds(
        LateCharges,
        penalty_daily_rate=st.decimals(min_value=0, max_value=Decimal("0.001"), places=5),
        late_fee=st.integers(min_value=0, max_value=10_000),
        grace_days=st.integers(min_value=0, max_value=10),
    ),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[LoanTerms, list[PaymentRecord], date]:
    terms = draw(loans)
    span = terms.term_months * 31 + 400
    as_of = terms.disbursed_on + timedelta(days=draw(st.integers(0, span)))
    payments = [
        PaymentRecord(
            f"r{k}",
            draw(st.integers(min_value=1, max_value=max(terms.principal // 3, 1))),
            terms.disbursed_on + timedelta(days=draw(st.integers(0, span))),
        )
        for k in range(draw(st.integers(0, 12)))
    ]
    return terms, payments, as_of


def run(history: tuple[LoanTerms, list[PaymentRecord], date]) -> Statement:
    terms, payments, as_of = history
    return statement(terms, build_schedule(terms), payments, as_of)


class TestStatementProperties:
    @settings(max_examples=300)
    @given(histories())
    def test_allocation_never_exceeds_the_payment_nor_what_is_due(self, history) -> None:  # type: ignore[no-untyped-def]
        _, payments, as_of = history
        s = run(history)
        received = sum(p.amount for p in payments if p.received_on <= as_of)
        assert s.paid_total + s.credit == received
        assert all(a.amount > 0 for a in s.allocations)
        for i in s.installments:
            for c in Component:
                assert 0 <= i.paid[c] <= i.owed[c]
        for p in payments:
            assert sum(a.amount for a in s.allocations if a.reference == p.reference) <= p.amount

    @settings(max_examples=300)
    @given(histories())
    def test_balance_is_charged_minus_paid(self, history) -> None:  # type: ignore[no-untyped-def]
        s = run(history)
        assert s.charged_total - s.paid_total == s.total_outstanding
        assert s.total_outstanding >= 0 and s.payoff_amount >= 0

    @settings(max_examples=300)
    @given(histories())
    def test_dpd_and_bucket_come_from_the_oldest_unpaid_installment(self, history) -> None:  # type: ignore[no-untyped-def]
        s = run(history)
        unpaid = [i.due_date for i in s.installments if i.due_date < s.as_of and not i.settled]
        assert s.dpd == ((s.as_of - min(unpaid)).days if unpaid else 0)
        assert s.bucket is bucket_for(s.dpd)

    @settings(max_examples=200)
    @given(histories())
    def test_paying_the_payoff_quote_settles_everything(self, history) -> None:  # type: ignore[no-untyped-def]
        terms, payments, as_of = history
        before = run(history)
        if before.payoff_amount == 0:
            return
        settled = run(
            (terms, [*payments, PaymentRecord("payoff", before.payoff_amount, as_of)], as_of)
        )
        assert settled.total_outstanding == 0 and settled.paid_off
        later = as_of + timedelta(days=800)
        assert run(
            (terms, [*payments, PaymentRecord("payoff", before.payoff_amount, as_of)], later)
        ).paid_off

    @settings(max_examples=200)
    @given(histories(), st.data())
    def test_posting_the_same_payment_twice_changes_nothing(self, history, data) -> None:  # type: ignore[no-untyped-def]
        terms, payments, as_of = history
        if not payments:
            return
        repeats = data.draw(st.lists(st.sampled_from(payments), min_size=1, max_size=5))
        ledger: dict[str, PaymentRecord] = {}
        for p in [*payments, *repeats]:
            existing = ledger.get(p.reference)
            outcome = classify(
                PostedPayment("L", existing.reference, existing.amount) if existing else None,
                PostedPayment("L", p.reference, p.amount),
            )
            if outcome is PostingOutcome.NEW:
                ledger[p.reference] = p
            else:
                assert outcome is PostingOutcome.DUPLICATE
        assert run((terms, list(ledger.values()), as_of)) == run(history)


def test_same_reference_with_another_amount_is_a_conflict() -> None:
    first = PostedPayment("L1", "ref-1", 100)
    assert classify(first, PostedPayment("L1", "ref-1", 100)) is PostingOutcome.DUPLICATE
    assert classify(first, PostedPayment("L1", "ref-1", 101)) is PostingOutcome.CONFLICT
    assert classify(first, PostedPayment("L2", "ref-1", 100)) is PostingOutcome.CONFLICT


class TestEdges:
    def test_before_payout_nothing_has_accrued(self) -> None:
        s = at(date(2026, 1, 1))
        assert (s.accrued_interest, s.payoff_amount, s.dpd) == (0, 1_200_000, 0)

    def test_a_payment_dated_before_payout_is_refused(self) -> None:
        import pytest

        with pytest.raises(ValueError, match="before the loan was paid out"):
            at(date(2026, 3, 1), (100, date(2026, 1, 14)))

    def test_next_due_moves_past_an_installment_credit_already_covers(self) -> None:
        s = at(date(2026, 2, 1), (2 * 106_619 + 100, date(2026, 1, 20)))
        assert s.credit == 2 * 106_619 + 100
        # February and March are covered; April still needs all but the 1.00 left over
        assert s.next_due == (date(2026, 4, 15), 106_519)
