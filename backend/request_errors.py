"""How the API answers a request it cannot read (a missing field, a wrong type, a value out of
range): 422 with the problem as one sentence in `detail`, like every other refusal, so clients
show `detail` as they do for domain errors; the field-by-field list stays under `errors`.

Nothing the client sent comes back: no `input` or `ctx` (a 10 MB text would return 10 MB, and a
reflected value is a reflected-content risk), and messages or locations that quote a value (a
custom message, a dict key) are cut short."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

_PARAMETER_KINDS = ("query", "path", "header", "cookie")
MAX_MESSAGE = 200  # characters of one problem's message
MAX_LOC_PART = 40  # characters of one part of its location (a dict key comes from the client)
MAX_IN_SENTENCE = 10  # problems named in `detail`; `errors` lists up to MAX_LISTED
MAX_LISTED = 100


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else _cut(str(part), MAX_LOC_PART) for part in loc]


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return _cut(message, MAX_MESSAGE)


def public_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each problem as where, what and its type: never the value that was sent."""
    return [
        {"loc": _loc(e.get("loc", ())), "msg": _message(e), "type": str(e.get("type", ""))}
        for e in errors[:MAX_LISTED]
    ]


def _where(loc: Sequence[Any]) -> str:
    """("body", "amount") is "amount"; ("query", "limit") is "query parameter limit"."""
    if not loc:
        return "request"
    kind, path = str(loc[0]), ".".join(str(part) for part in loc[1:])
    if kind in _PARAMETER_KINDS:
        return f"{kind} parameter {path}" if path else kind
    return path or kind


def summary(errors: Sequence[Mapping[str, Any]]) -> str:
    """Every problem, as "where: what", in one line."""
    lines = [f"{_where(_loc(e.get('loc', ())))}: {_message(e)}" for e in errors[:MAX_IN_SENTENCE]]
    if len(errors) > MAX_IN_SENTENCE:
        lines.append(f"and {len(errors) - MAX_IN_SENTENCE} more")
    return "; ".join(lines) or "invalid request"


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return JSONResponse(
        {"detail": summary(errors), "code": "invalid_request", "errors": public_errors(errors)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
