"""Money in integer minor units with a currency; Decimal only at the edges, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import get_currency_precision


class InvalidAmount(ValueError):
    """An amount that is not a positive number with at most the currency's decimals."""


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (CNY 2, JPY 0)."""
    return int(get_currency_precision(currency.upper()))


def round_half_up(value: Decimal) -> int:
    """Round an exact amount of minor units to a whole minor unit (四舍五入)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Parse a major-unit amount ("1500.5") into minor units, refusing extra decimals.

    Refuses rather than rounds: a borrower's "100.005" is a typo, not a rounding question.
    """
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise InvalidAmount(f"{amount!r} is not a number") from exc
    if not value.is_finite():
        raise InvalidAmount(f"{amount!r} is not a number")
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise InvalidAmount(
            f"{amount} has more than {exponent(currency)} decimal places for {currency}"
        )
    return int(minor)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal of major units (12345 CNY -> Decimal('123.45'))."""
    digits = exponent(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_major(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string for APIs ("123.45")."""
    return str(to_major(minor, currency))
