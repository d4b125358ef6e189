"""The running texts version, as the action server and Rasa follow it: `GET /texts/running`
every few seconds, 304 while it is the one they have (the ETag names the version)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse

from backend.deps import SessionDep
from backend.texts import service

router = APIRouter(prefix="/texts", tags=["assistant texts"])


@router.get(
    "/running",
    response_model=None,
    responses={
        200: {
            "description": "The running version: its number and every override of the shipped "
            "texts (`texts`, `buttons`: key -> {zh, en}); version 0 overrides nothing",
        },
        304: {"description": "The running version is the one named in If-None-Match"},
    },
)
def running_texts(
    session: SessionDep, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    now = service.running(session)
    if if_none_match == now.etag:
        return Response(status_code=304, headers={"ETag": now.etag})
    body: dict[str, Any] = service.as_payload(now)
    return JSONResponse(body, headers={"ETag": now.etag, "Cache-Control": "no-cache"})
