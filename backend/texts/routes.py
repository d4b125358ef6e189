"""The running texts version, as the action server and Rasa follow it: `GET /texts/running`
every few seconds, 304 while it is the one they have (the ETag names the version)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.api_errors import error_responses
from backend.conversations import service as conversations
from backend.conversations.paths import ChannelPath
from backend.deps import OnceDep, SessionDep
from backend.errors import NotFound
from backend.text_fields import StoredText
from backend.texts import experiments, service

router = APIRouter(prefix="/texts", tags=["assistant texts"])
from_chat = APIRouter(
    prefix="/conversations/{channel}/{user_id}",
    tags=["assistant texts"],
    responses=error_responses(404),
)
UserPath = Annotated[StoredText, Path(max_length=128, description="the chat's id on that channel")]


class Said(BaseModel):
    key: str = Field(min_length=1, max_length=100, description="the text's key")
    variant: Literal["champion", "challenger"]


class Exposures(BaseModel):
    version: int = Field(ge=0, le=2**31 - 1, description="the texts version the wordings came from")
    said: list[Said] = Field(min_length=1, max_length=50)


class Recorded(BaseModel):
    recorded: int


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


@from_chat.post("/text-exposures", response_model=Recorded)
def record_exposures(
    channel: ChannelPath, user_id: UserPath, body: Exposures, session: SessionDep, once: OnceDep
) -> Recorded | JSONResponse:
    """Which wording of each text under experiment the action server said in this chat (it
    reports only those); the dashboard compares them on what followed."""
    if (earlier := once.earlier()) is not None:
        return earlier  # a turn sent again counts its borrower once
    conversation = conversations.find(session, channel, user_id)
    if conversation is None:
        raise NotFound("no such conversation")
    said = [(s.key, s.variant) for s in body.said]
    recorded = experiments.record(session, conversation, version=body.version, said=said)
    return once.kept(Recorded(recorded=recorded))
