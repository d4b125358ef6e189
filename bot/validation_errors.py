"""The gateway's 422: where and what, never the value sent (FastAPI's default echoes `input`,
which can be a whole message, a token, or text that cannot even be encoded in the answer)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot.text_cleaning import clean


def public_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            # A key of the client's own JSON can be in `loc`: cut short, and encodable.
            "loc": [p if isinstance(p, int) else clean(str(p))[:40] for p in e.get("loc", ())],
            "msg": clean(str(e.get("msg", "invalid")))[:200],
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()[:20]
    ]


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": public_errors(exc)}, status_code=422)
