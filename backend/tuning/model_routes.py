"""The backend as Rasa's model server: Rasa polls `GET /nlu/model` (its `models` endpoint),
gets 304 while the running model is unchanged (the ETag is the model's name), and loads a new
one in the background when a model is promoted or restored. Any kept model can be fetched by
name, which is how Rasa scores a candidate before it runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import FileResponse

from backend.api_errors import error_responses
from backend.deps import SessionDep, SettingsDep
from backend.errors import NotFound
from backend.tuning.retraining import model_file, running_model

router = APIRouter(prefix="/nlu", tags=["assistant models"], responses=error_responses(404))


@router.get(
    "/model",
    response_model=None,
    responses={
        200: {"description": "The model file", "content": {"application/gzip": {}}},
        204: {"description": "No model is running yet"},
        304: {"description": "The running model is the one named in If-None-Match"},
    },
)
def current_model(
    session: SessionDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The model Rasa should run (204 while there is none)."""
    model = running_model(session, settings)
    if model is None:
        return Response(status_code=204)
    if if_none_match == model.name:
        return Response(status_code=304, headers={"ETag": model.name})
    return _file(session, settings, model.name)


@router.get(
    "/models/{name}",
    response_model=None,
    responses={200: {"description": "The model file", "content": {"application/gzip": {}}}},
)
def one_model(name: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    return _file(session, settings, name)


def _file(session: SessionDep, settings: SettingsDep, name: str) -> FileResponse:
    path = model_file(session, settings, name)
    if path is None:
        raise NotFound(f"no model {name!r}")
    # Rasa names the downloaded file after `filename` and reports it in /status
    return FileResponse(
        path,
        media_type="application/gzip",
        headers={"ETag": name, "filename": name},
    )
