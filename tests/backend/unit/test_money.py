import re
from decimal import Decimal

import pytest

from backend.money import (
    _AMOUNT_IN_RANGE,
    AMOUNT_LIMIT,
    InvalidAmount,
    format_major,
    max_minor,
    to_major,
    to_minor,
)


class TestToMinor:
    @pytest.mark.parametrize(
        ("text", "currency", "minor"),
        [
            ("1500", "CNY", 150_000),
            ("1,500.5", "CNY", 150_050),
            ("0.01", "USD", 1),
            ("2500", "JPY", 2500),
            (Decimal("12.30"), "SGD", 1230),
        ],
    )
    def test_parses_major_units(self, text: str, currency: str, minor: int) -> None:
        assert to_minor(text, currency) == minor

    @pytest.mark.parametrize("text", ["abc", "", "1.005", "NaN", "Infinity", "12.5.1"])
    def test_refuses_what_is_not_an_exact_amount(self, text: str) -> None:
        with pytest.raises(InvalidAmount):
            to_minor(text, "CNY")

    def test_accepts_amounts_below_the_limit_only(self) -> None:
        assert to_minor("999,999,999,999.99", "CNY") == 10**14 - 1 == max_minor("CNY")
        assert to_minor(Decimal(AMOUNT_LIMIT - 1), "JPY") == 10**12 - 1 == max_minor("JPY")
        for beyond in ("1000000000000", "1" + "0" * 58, Decimal("1E+100"), 10**70):
            with pytest.raises(InvalidAmount, match="must be less than 1,000,000,000,000"):
                to_minor(beyond, "CNY")

    def test_the_schema_pattern_says_the_same(self) -> None:
        pattern = re.compile(f"^{_AMOUNT_IN_RANGE}$")
        for amount in ("9" * 12, "999,999,999,999.99", "0.5", "12,500"):
            assert pattern.match(amount)
        for amount in ("1" + "0" * 12, "1,000,000,000,000", "1e3", "1,5"):
            assert not pattern.match(amount)

    def test_the_largest_amount_fits_a_64_bit_column_in_every_currency(self) -> None:
        # CLF has the most minor digits (4) of any ISO 4217 currency
        assert max_minor("CLF") == 10**16 - 1
        assert max_minor("CLF") * 900 < 2**63

    def test_refuses_decimals_a_currency_does_not_have(self) -> None:
        with pytest.raises(InvalidAmount, match="0 decimal places for JPY"):
            to_minor("10.5", "JPY")


def test_round_trip_to_major() -> None:
    assert to_major(123_45, "CNY") == Decimal("123.45")
    assert format_major(5, "CNY") == "0.05"
    assert format_major(-250, "CNY") == "-2.50"
    assert format_major(700, "JPY") == "700"
