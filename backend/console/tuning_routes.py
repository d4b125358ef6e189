"""Operations' tuning pages: the misunderstood-message inbox (grouped by what the assistant
thought, searchable), labelling a message into the NLU training data, and the conversation a
message came from with the NLU reading of each turn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, PageNotFound, Viewer, need
from backend.console.rendering import render
from backend.console.transcript_view import transcript_rows
from backend.conversations.models import Conversation
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError, Invalid
from backend.tuning import service as tuning
from backend.tuning.annotation import MAX_MARKS, EntityMark
from backend.tuning.misunderstood import by_intent, misunderstood
from backend.tuning.review import OUTCOMES, ReviewFilter, review
from backend.types import utcnow

router = APIRouter(prefix="/console", include_in_schema=False)

OperationsViewer = Annotated[Viewer, need("operations")]
DAYS_SHOWN = 30
MAX_WORDS = 200


@router.get("/tuning", response_class=HTMLResponse)
def misunderstood_page(
    request: Request,
    viewer: OperationsViewer,
    session: SessionDep,
    settings: SettingsDep,
    q: str = "",
) -> HTMLResponse:
    return _page(request, viewer, session, settings, q=q)


def _page(
    request: Request,
    viewer: Viewer,
    session: Session,
    settings: Settings,
    *,
    q: str,
    error_text: str = "",
    status_code: int = 200,
    refused: RefusedLabel | None = None,
) -> HTMLResponse:
    rows = misunderstood(
        session,
        threshold=tuning.fallback_threshold(settings.nlu_dir),
        search=q[:100],
        since=utcnow() - timedelta(days=DAYS_SHOWN),
    )
    return render(
        request,
        "tuning.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="tuning",
        groups=by_intent(rows),
        total=len(rows),
        q=q,
        days=DAYS_SHOWN,
        intents=tuning.intents(settings.nlu_dir),
        entities=tuning.entities(settings.nlu_dir),
        max_marks=MAX_MARKS,
        done=request.query_params.get("done"),
        error_text=error_text,
        refused=refused,
    )


@dataclass(frozen=True, slots=True)
class RefusedLabel:
    """A label form that was refused, shown again as the operator filled it in."""

    message_id: int
    intent: str
    marks: list[tuple[str, str]]  # (entity, words) as sent


def _marks(entity: list[str], words: list[str]) -> list[EntityMark]:
    """The form's entity choices paired with their words; a pair left empty is no mark."""
    if len(entity) != len(words):
        raise Invalid("each mark needs an entity and its words", code="bad_marks")
    marks = []
    for name, sent in zip(entity, words, strict=True):
        said = " ".join(sent.split())  # as the example is written: single spaces
        if not name and not said:
            continue
        if not name:
            raise Invalid(f"choose which entity {said!r} is", code="no_entity")
        if len(said) > MAX_WORDS or len(name) > 100:
            raise Invalid(f"a mark is at most {MAX_WORDS} characters", code="long_mark")
        marks.append(EntityMark(name, said))
    return marks


@router.post("/tuning/messages/{message_id}/label")
def label_message(
    message_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    intent: Annotated[str, Form(max_length=100)],
    q: Annotated[str, Form(max_length=100)] = "",
    entity: Annotated[list[str] | None, Form()] = None,
    words: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Written, masked, into nlu/data/nlu/labelled.yml (a reviewable diff); `entity` and
    `words` pair up as the entities marked in it."""
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    entity, words = entity or [], words or []
    try:
        with session.begin_nested():
            labelled = tuning.label(
                session,
                message_id=message_id,
                intent=intent,
                by=viewer.username,
                nlu_dir=settings.nlu_dir,
                marks=_marks(entity, words),
            )
            audit(
                session,
                viewer.actor,
                "update",
                borrower_id=None,
                subject=f"message {message_id} labelled {labelled.intent}",
            )
    except DomainError as exc:
        return _page(
            request,
            viewer,
            session,
            settings,
            q=q,
            error_text=exc.message,
            status_code=exc.status_code,
            refused=RefusedLabel(message_id, intent, list(zip(entity, words, strict=False))),
        )
    return RedirectResponse(f"/console/tuning?{urlencode({'done': 'label', 'q': q})}", 303)


@router.get("/conversations", response_class=HTMLResponse)
def review_page(
    request: Request,
    viewer: OperationsViewer,
    session: SessionDep,
    settings: SettingsDep,
    outcome: Annotated[str, Query(max_length=16)] = "",
    intent: Annotated[str, Query(max_length=100)] = "",
    language: Annotated[str, Query(max_length=2)] = "",
    since: date | None = None,
    until: date | None = None,
) -> HTMLResponse:
    """Conversations by outcome, intent heard, language and date."""
    where = ReviewFilter(
        outcome=outcome if outcome in OUTCOMES else None,
        intent=intent or None,
        language=language or None,
        since=since,
        until=until,
    )
    rows = review(session, where=where, timezone=settings.business_timezone)
    return render(
        request,
        "conversations.html",
        language=viewer.language,
        viewer=viewer,
        nav="conversations",
        rows=rows,
        where=where,
        outcomes=OUTCOMES,
        intents=tuning.intents(settings.nlu_dir),
    )


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    conversation_id: int, request: Request, viewer: OperationsViewer, session: SessionDep
) -> HTMLResponse:
    """The whole transcript with what the NLU read in each borrower message."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise PageNotFound()
    audit(
        session,
        viewer.actor,
        "read",
        borrower_id=conversation.borrower_id,
        subject=f"conversation {conversation.id}",
    )
    return render(
        request,
        "conversation.html",
        language=viewer.language,
        viewer=viewer,
        nav="tuning",
        conversation=conversation,
        transcript=transcript_rows(session, conversation_id=conversation.id),
        highlight=request.query_params.get("message"),
    )
