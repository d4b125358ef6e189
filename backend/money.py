"""Money in integer minor units with a currency; Decimal only at the edges, never float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Annotated

from babel.numbers import get_currency_precision
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError


class InvalidAmount(ValueError):
    """An amount that is not a positive number with at most the currency's decimals."""


# Every amount anything accepts (a payment, a link, a promise, a typed or configured amount) is
# below this, in major units of any currency: at most 12 digits before the decimal point, which
# the API's schema can say. One bound for all: no single loan, payment or promise a lender runs
# through this product comes near it, even in currencies of small units (10^12 IDR or VND is
# tens of millions of dollars). With the most minor digits any ISO 4217 currency has (4), it is
# 10^16 minor units: a 64-bit column (up to 9.2 * 10^18) holds it, and sums of hundreds of such
# amounts, with room to spare.
AMOUNT_DIGITS = 12
AMOUNT_LIMIT = 10**AMOUNT_DIGITS
TOO_LARGE = f"the amount must be less than {AMOUNT_LIMIT:,}"


def max_minor(currency: str) -> int:
    """The largest amount accepted, in the currency's minor units."""
    return int(AMOUNT_LIMIT * 10 ** exponent(currency)) - 1  # the exponent is never negative


# Plain digits, or thousands grouped by commas ("12,500.00"); a comma elsewhere ("100,5") is
# ambiguous between locales and refused rather than guessed.
_AMOUNT = re.compile(r"(\d+|\d{1,3}(,\d{3})+)(\.\d+)?")
# The same with at most AMOUNT_DIGITS (12) digits before the point, as the API's schema says.
_AMOUNT_IN_RANGE = r"(\d{1,12}|\d{1,3}(,\d{3}){1,3})(\.\d+)?"
_EXACT = Context(prec=60)


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (CNY 2, JPY 0)."""
    return int(get_currency_precision(currency.upper()))


def round_half_up(value: Decimal) -> int:
    """Round an exact amount of minor units to a whole minor unit (四舍五入)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Parse a positive major-unit amount ("1,500.5") into minor units, refusing extra decimals.

    Refuses rather than rounds: a borrower's "100.005" is a typo, not a rounding question.
    """
    text = str(amount).strip()
    if isinstance(amount, Decimal) and amount.is_finite():
        text = format(amount, "f")
    if not _AMOUNT.fullmatch(text):
        raise InvalidAmount(f"{amount!r} is not a positive amount like 1500 or 1,500.50")
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise InvalidAmount(f"{amount!r} is not a number") from exc
    if value <= 0:
        raise InvalidAmount("the amount must be greater than zero")
    if value >= AMOUNT_LIMIT:  # before any arithmetic: a 60-digit amount overflows the context
        raise InvalidAmount(TOO_LARGE)
    minor = value.scaleb(exponent(currency), context=_EXACT)
    if minor != minor.to_integral_value():
        raise InvalidAmount(
            f"{amount} has more than {exponent(currency)} decimal places for {currency}"
        )
    return int(minor)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal of major units (12345 CNY -> Decimal('123.45'))."""
    digits = exponent(currency)
    return (
        Decimal(minor)
        .scaleb(-digits, context=_EXACT)
        .quantize(Decimal(1).scaleb(-digits), context=_EXACT)
    )


def format_major(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string for APIs ("123.45")."""
    return str(to_major(minor, currency))


def _decimal_text(value: object) -> object:
    """Amounts arrive in JSON as decimal strings. A JSON number is refused, not converted: it
    may have passed through a binary float on its way (0.1 + 0.2 is 0.30000000000000004), and
    true or false is no amount at all."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "amount_not_text", 'an amount is a decimal string such as "500.00", not true or false'
        )
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "amount_not_text",
            'an amount is a decimal string such as "500.00", not a JSON number: send "{number}"',
            {"number": str(value)},
        )
    if isinstance(value, str):
        # what the schema documents ("500.00", "12,500.00"), and nothing else (no "1e3")
        # a sign is let through to be refused as "greater than 0", which says more
        if not _AMOUNT.fullmatch(value.strip().removeprefix("-")):
            raise PydanticCustomError(
                "amount_format",
                'an amount is digits with an optional decimal point, such as "500.00"',
            )
        return value.strip().replace(",", "")
    return value


def _below_the_limit(value: Decimal) -> Decimal:
    if value >= AMOUNT_LIMIT:
        raise PydanticCustomError("amount_too_large", TOO_LARGE)
    return value


# The one type of every money field in a request body: a positive decimal string in major units
# ("500.00") below AMOUNT_LIMIT; to_minor then checks the currency's decimals. Python callers
# may pass a Decimal.
AmountText = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(gt=0),
    AfterValidator(_below_the_limit),
    WithJsonSchema({"type": "string", "pattern": f"^{_AMOUNT_IN_RANGE}$", "examples": ["500.00"]}),
]
