from decimal import Decimal

import pytest

from backend.money import InvalidAmount, format_major, to_major, to_minor


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

    def test_refuses_decimals_a_currency_does_not_have(self) -> None:
        with pytest.raises(InvalidAmount, match="0 decimal places for JPY"):
            to_minor("10.5", "JPY")


def test_round_trip_to_major() -> None:
    assert to_major(123_45, "CNY") == Decimal("123.45")
    assert format_major(5, "CNY") == "0.05"
    assert format_major(-250, "CNY") == "-2.50"
    assert format_major(700, "JPY") == "700"
