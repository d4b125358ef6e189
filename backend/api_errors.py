"""Every refusal of the API has one body, `ErrorBody` (`detail` + `code`), and the OpenAPI
document says so: `error_responses(...)` declares the statuses a router or route can answer
with that model, in place of FastAPI's default 422 list. The handler below gives HTTP errors
raised outside the domain (a wrong token, an unknown path, a body too large) the same shape."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException


class FieldError(BaseModel):
    """One problem of a request that could not be read (422 `invalid_request`)."""

    loc: list[str | int] = Field(description='where, e.g. ["body", "amount"]')
    msg: str
    type: str


class ErrorBody(BaseModel):
    detail: str = Field(description="what is wrong, as one sentence to show")
    code: str = Field(description="machine-readable: not_found, verification_required, ...")
    params: dict[str, str | int] | None = Field(
        default=None, description="the figures the sentence names (dates, amounts, limits)"
    )
    errors: list[FieldError] | None = Field(
        default=None, description="422 invalid_request: each field's problem"
    )


_MEANING = {
    400: "The body is not JSON in UTF-8 (code bad_request)",
    401: "Missing or wrong service token (code unauthorized)",
    403: "Not allowed, e.g. verification_required: the chat has not proven it is the borrower",
    404: "No such resource (code not_found or a more precise one)",
    409: "In conflict with the current state (the code says which rule)",
    413: "The request body is larger than MAX_REQUEST_BYTES (code body_too_large)",
    422: "Unreadable (code invalid_request, with `errors`) or outside a business rule",
    423: "Locked for now (the message says until when)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router or route: each status answered with an `ErrorBody`."""
    return {s: {"model": ErrorBody, "description": _MEANING[s]} for s in statuses}


def code_for(status: int) -> str:
    """401 is "unauthorized", 405 "method_not_allowed": the status's name."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return JSONResponse(None, status_code=exc.status_code, headers=exc.headers)
    code = getattr(exc, "code", None) or code_for(exc.status_code)
    return JSONResponse(
        {"detail": str(exc.detail), "code": code},
        status_code=exc.status_code,
        headers=exc.headers,
    )
