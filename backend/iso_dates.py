"""Dates and times the API reads: ISO 8601 text only, as the OpenAPI document says.

Pydantic reads a number (`0`, `"0"`, `1700000000`) as a Unix timestamp, so `as_of=0` would be
1 January 1970 and `sent_at: 0` a message from 1970. These types refuse anything but the text
forms before pydantic parses it; the schema stays `format: date` / `format: date-time`."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339, which is what `format: date-time` means: a date, T, a time, an offset or Z.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})")


def _date_text(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "Input should be a valid date in the form YYYY-MM-DD")


def _datetime_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "Input should be a valid datetime: ISO 8601 text with its offset, "
        "e.g. 2026-04-01T09:30:00+08:00",
    )


IsoDate = Annotated[date, BeforeValidator(_date_text)]
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_datetime_text)]
