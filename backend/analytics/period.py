"""The period's business days as SQL: which day of the business time zone a UTC timestamp
falls on, and the slice of channel and language, written so SQLite and PostgreSQL agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, and_, case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from backend.analytics.figures import Scope

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


class Period:
    """The scope's days and the UTC instants at which each starts (and the last one ends)."""

    def __init__(self, scope: Scope) -> None:
        if scope.end < scope.start:
            raise ValueError(f"the period ends ({scope.end}) before it starts ({scope.start})")
        zone = ZoneInfo(scope.timezone)
        self.scope = scope
        self.days = scope.days()
        self.starts = [
            datetime.combine(d, time(0), zone).astimezone(UTC)
            for d in [*self.days, scope.end + timedelta(days=1)]
        ]

    def within(self, column: Any) -> ColumnElement[bool]:
        """A timestamp inside the period."""
        return and_(column >= self.starts[0], column < self.starts[-1])

    def dates(self, column: Any) -> ColumnElement[bool]:
        """A business date inside the period."""
        return and_(column >= self.scope.start, column <= self.scope.end)

    def day_of(self, column: Any) -> ColumnElement[date]:
        """The business day a timestamp inside the period falls on. Day starts are worked out
        here (zoneinfo, so daylight saving is right), leaving SQL plain comparisons: time zone
        functions differ between SQLite and PostgreSQL."""
        return case(
            *[
                (column < end, literal(d, Date))
                for d, end in zip(self.days, self.starts[1:], strict=True)
            ],
            else_=literal(None, Date),
        )


def language_of(conversation: Any, borrower: Any) -> ColumnElement[str]:
    """The chat's language, else its borrower's (as conversation review reads it)."""
    return func.coalesce(conversation.language, borrower.language)


def sliced(query: _Query, scope: Scope, *, conversation: Any, borrower: Any) -> _Query:
    """Keep the rows of the scope's channel and language; `conversation` and `borrower` are the
    (outer-)joined entities the row is judged by. A row without a conversation has no channel,
    so it counts only when no channel is asked for."""
    if scope.channel is not None:
        query = query.where(conversation.channel == scope.channel)
    if scope.language is not None:
        query = query.where(language_of(conversation, borrower) == scope.language)
    return query
