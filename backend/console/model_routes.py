"""Operations' model page: retrain the assistant on its training data (a background job with
progress), compare the new model with the running one per language and intent, promote it
when it is not worse, or go back to the model that ran before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, Viewer, need
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError
from backend.tuning import retraining
from backend.tuning.models import TrainedModel
from backend.tuning.rasa_client import RasaError, RasaTrainer

router = APIRouter(prefix="/console", include_in_schema=False)

OperationsViewer = Annotated[Viewer, need("operations")]
RUNS_SHOWN = 10


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request, viewer: OperationsViewer, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    return _page(request, viewer, session, settings)


def _page(
    request: Request,
    viewer: Viewer,
    session: Session,
    settings: Settings,
    *,
    error_text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    # Rasa first, briefly: a slow answer must not keep this request's transaction open (on
    # SQLite it would hold up every other request)
    trainer = RasaTrainer(settings.rasa_url, token=settings.rasa_token)
    try:
        loaded, rasa_error = trainer.running_model(timeout_s=2), ""
    except RasaError as exc:
        loaded, rasa_error = None, str(exc)
    running = retraining.running_model(session, settings)
    runs = list(
        session.scalars(
            select(TrainedModel)
            .where(TrainedModel.source == "retrained")
            .order_by(TrainedModel.id.desc())
            .limit(RUNS_SHOWN)
        )
    )
    active = next((r for r in runs if r.stage in retraining.ACTIVE), None)
    candidate = next((r for r in runs if r.stage == "ready"), None)
    return render(
        request,
        "models.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="models",
        running=running,
        loaded=loaded,
        rasa_error=rasa_error,
        runs=runs,
        active=active,
        interrupted=retraining.is_interrupted,
        candidate=candidate,
        compared=retraining.comparison(running, candidate) if candidate else None,
        history=retraining.deployments(session),
        done=request.query_params.get("done"),
        error_text=error_text,
        # the page reloads itself while a run goes (no script needed)
        refresh=active is not None and not retraining.is_interrupted(active),
    )


@router.post("/models/train")
def train(
    request: Request, viewer: FormViewerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    started: list[int] = []

    def start() -> int:
        started.append(retraining.start(session, by=viewer.username).id)
        return started[0]

    refused = _act(request, viewer, session, settings, "train", start, "model retraining")
    if refused is not None:
        return refused
    # the run reads its record from its own sessions: commit before it starts
    session.commit()
    retraining.launch(request.app.state.sessionmaker, settings, started[0])
    return _done("train")


@router.post("/models/{model_id}/promote")
def promote(
    model_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    def promoted() -> int:
        return retraining.promote(session, settings, model_id=model_id, by=viewer.username).model_id

    return _act(request, viewer, session, settings, "promote", promoted) or _done("promote")


@router.post("/models/restore")
def restore(
    request: Request, viewer: FormViewerDep, session: SessionDep, settings: SettingsDep
) -> Response:
    def restored() -> int:
        return retraining.restore(session, settings, by=viewer.username).model_id

    return _act(request, viewer, session, settings, "restore", restored) or _done("restore")


def _act(
    request: Request,
    viewer: Viewer,
    session: Session,
    settings: Settings,
    action: str,
    do: Callable[[], int],
    subject: str | None = None,
) -> Response | None:
    """Do one model action with its audit entry, both or neither; the page with the reason
    when it is refused, None when done."""
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    try:
        with session.begin_nested():
            model_id = do()
            audit(
                session,
                viewer.actor,
                "update",
                borrower_id=None,
                subject=subject or f"model {model_id} {action}d",
            )
    except DomainError as exc:
        return _page(
            request, viewer, session, settings, error_text=exc.message, status_code=exc.status_code
        )
    return None


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/console/models?{urlencode({'done': what})}", 303)
