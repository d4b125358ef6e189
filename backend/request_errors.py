"""How the API answers a request it cannot read (a missing field, a wrong type, a value out of
range): 422 with the problem as one sentence in `detail`, like every other refusal, so clients
show `detail` as they do for domain errors; the field-by-field list stays under `errors`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

_PARAMETER_KINDS = ("query", "path", "header", "cookie")


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
    lines = []
    for error in errors:
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{_where(error.get('loc', ()))}: {message}")
    return "; ".join(lines) or "invalid request"


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return JSONResponse(
        {"detail": summary(errors), "code": "invalid_request", "errors": jsonable_encoder(errors)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
