from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from backend.ledger.schedule import annuity_payment, build_schedule, due_dates
from backend.ledger.terms import LoanTerms, ScheduleType

terms_strategy = st.builds(
    LoanTerms,
    principal=st.integers(min_value=1, max_value=10**10),
    annual_rate=st.decimals(min_value=0, max_value=Decimal("0.36"), places=4),
    term_months=st.integers(min_value=1, max_value=60),
    schedule_type=st.sampled_from(ScheduleType),
    disbursed_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
)


class TestWorkedExamples:
    def test_annuity_of_12000_at_12_percent_over_12_months(self) -> None:
        """12,000.00 at 12% a year (1% a month), 12 equal installments: the figures a lender
        gets from any annuity table."""
        rows = build_schedule(
            LoanTerms(1_200_000, Decimal("0.12"), 12, ScheduleType.ANNUITY, date(2026, 1, 15))
        )
        assert [r.amount for r in rows[:11]] == [106_619] * 11  # 1,066.19 a month
        assert rows[-1].amount == 106_614  # 1,066.14: the rounding remainder
        assert (rows[0].interest, rows[0].principal) == (12_000, 94_619)  # 120.00 + 946.19
        assert (rows[1].interest, rows[1].principal) == (11_054, 95_565)  # 1% of 11,053.81
        assert sum(r.interest for r in rows) == 79_423  # total interest 794.23
        assert sum(r.principal for r in rows) == 1_200_000
        assert rows[0].due_date == date(2026, 2, 15)
        assert rows[-1].due_date == date(2027, 1, 15)

    def test_equal_principal_of_6000_at_15_percent_over_6_months(self) -> None:
        rows = build_schedule(
            LoanTerms(600_000, Decimal("0.15"), 6, ScheduleType.EQUAL_PRINCIPAL, date(2026, 3, 1))
        )
        assert [r.principal for r in rows] == [100_000] * 6
        # 1.25% a month on 6,000, 5,000, ..., 1,000
        assert [r.interest for r in rows] == [7_500, 6_250, 5_000, 3_750, 2_500, 1_250]

    def test_interest_only_then_bullet(self) -> None:
        rows = build_schedule(
            LoanTerms(5_000_000, Decimal("0.12"), 12, ScheduleType.INTEREST_ONLY, date(2026, 1, 10))
        )
        assert [r.principal for r in rows] == [0] * 11 + [5_000_000]
        assert {r.interest for r in rows} == {50_000}  # 500.00 every month

    def test_month_end_disbursement_keeps_to_month_end(self) -> None:
        assert due_dates(date(2026, 1, 31), 4) == [
            date(2026, 2, 28),
            date(2026, 3, 31),
            date(2026, 4, 30),
            date(2026, 5, 31),
        ]

    def test_zero_rate_splits_principal_evenly(self) -> None:
        rows = build_schedule(
            LoanTerms(1000, Decimal(0), 3, ScheduleType.ANNUITY, date(2026, 1, 1))
        )
        assert [(r.principal, r.interest) for r in rows] == [(333, 0), (333, 0), (334, 0)]


class TestScheduleProperties:
    @given(terms_strategy)
    def test_principal_parts_sum_to_the_principal(self, terms: LoanTerms) -> None:
        rows = build_schedule(terms)
        assert sum(r.principal for r in rows) == terms.principal
        assert all(r.principal >= 0 and r.interest >= 0 for r in rows)
        assert len(rows) == terms.term_months
        assert [r.seq for r in rows] == list(range(1, terms.term_months + 1))

    @given(
        terms_strategy.filter(
            # at least one major unit a month: below that, rounding is the whole installment
            lambda t: t.schedule_type is ScheduleType.ANNUITY and t.principal >= 100 * t.term_months
        )
    )
    def test_annuity_interest_matches_closed_formula(self, terms: LoanTerms) -> None:
        """Total interest n*PMT - L, within one minor unit per installment."""
        rows = build_schedule(terms)
        rate = terms.annual_rate / 12
        exact = annuity_payment(terms.principal, rate, terms.term_months) * terms.term_months
        exact_interest = exact - terms.principal
        assert abs(sum(r.interest for r in rows) - exact_interest) <= terms.term_months

    @given(
        terms_strategy.filter(
            # at least one major unit a month: smaller loans round to all-interest rows
            lambda t: t.schedule_type is ScheduleType.ANNUITY and t.principal >= 100 * t.term_months
        )
    )
    def test_annuity_installments_are_level_but_the_last(self, terms: LoanTerms) -> None:
        rows = build_schedule(terms)
        assert len({r.amount for r in rows[:-1]}) <= 1
        # Each month the level and the interest are each rounded by at most half a minor
        # unit; that error compounds at the monthly rate until the last installment settles it.
        rate = terms.annual_rate / 12
        n = terms.term_months
        drift = Decimal(n) if rate == 0 else ((1 + rate) ** n - 1) / rate
        assert abs(rows[-1].amount - rows[0].amount) <= drift + 1


class TestRounding:
    def test_an_exact_half_rounds_up(self) -> None:
        # 50,001.00 at 22%: 50,001 x 22% / 12 = 916.685 exactly -> 916.69, not 916.68
        rows = build_schedule(
            LoanTerms(5_000_100, Decimal("0.22"), 12, ScheduleType.INTEREST_ONLY, date(2024, 1, 15))
        )
        assert rows[0].interest == 91_669

    def test_zero_rate_puts_the_remainder_last_not_a_zero_installment(self) -> None:
        rows = build_schedule(LoanTerms(10, Decimal(0), 6, ScheduleType.ANNUITY, date(2026, 1, 1)))
        assert [r.principal for r in rows] == [1, 1, 1, 1, 1, 5]


class TestTermsValidation:
    def test_negative_grace_or_charges_are_refused(self) -> None:
        import pytest

        from backend.ledger.terms import LateCharges

        for bad in ({"grace_days": -1}, {"late_fee": -1}, {"penalty_daily_rate": Decimal("-0.1")}):
            with pytest.raises(ValueError, match="negative"):
                LateCharges(**bad)  # type: ignore[arg-type]

    def test_a_waterfall_must_name_every_component(self) -> None:
        import pytest

        from backend.ledger.terms import Component

        with pytest.raises(ValueError, match="waterfall"):
            LoanTerms(
                100,
                Decimal(0),
                1,
                ScheduleType.ANNUITY,
                date(2026, 1, 1),
                waterfall=(Component.PRINCIPAL,),
            )
