"""Public holidays by country, from the `holidays` package (pinned: a new release can move a
date, and the reminders held on it with it). Read only here, cached per country and year.

Names are read in English where the package has them in English, so that operations can name
a holiday in `config/compliance.yml` the same way for every country ("Chinese New Year")."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


def supported(country: str) -> bool:
    return country in _countries()


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=512)
def _year(country: str, year: int) -> dict[date, str]:
    calendar = holidays.country_holidays(country, years=year)
    if "en_US" in (calendar.supported_languages or ()):
        calendar = holidays.country_holidays(country, years=year, language="en_US")
    return dict(calendar.items())


def holiday_name(country: str, day: date) -> str | None:
    """The public holiday `day` is in `country`, or None (a working day or a weekend)."""
    return _year(country, day.year).get(day)


@lru_cache(maxsize=512)
def days_named(country: str, name: str, year: int) -> tuple[date, ...]:
    """The days of `year` whose holiday name contains `name` (any case): "Chinese New Year"
    finds its eve and the festival days, "observed" ones included."""
    wanted = name.casefold()
    return tuple(sorted(d for d, n in _year(country, year).items() if wanted in n.casefold()))
