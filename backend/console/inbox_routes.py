"""The handoff inbox: who waits, in the order to serve them, kept live by the page polling
the queue fragment (an unchanged queue answers 304, so a quiet inbox costs little)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.borrowers.models import Borrower
from backend.config import Settings
from backend.console.auth import Viewer, need
from backend.console.i18n import translator
from backend.console.queue_view import QueueRow, queue_rows
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.types import utcnow

router = APIRouter(prefix="/console", include_in_schema=False)

QueueViewer = Annotated[Viewer, need("queue")]
CLOSED_SHOWN = 15


@dataclass(frozen=True, slots=True)
class Inbox:
    waiting: list[QueueRow]
    taken: list[QueueRow]
    closed: list[QueueRow]
    everyone: bool  # a supervisor's inbox: every collector's chats
    sla_seconds: int

    @property
    def rows(self) -> list[QueueRow]:
        return [*self.waiting, *self.taken, *self.closed]

    def etag(self) -> str:
        """Changes when what the inbox shows changes (waiting times tick in the page)."""
        key = repr(
            [
                (r.handoff_id, r.status, r.reason, r.taken_by, r.over_sla, r.bucket, r.overdue)
                for r in self.rows
            ]
        )
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def load_inbox(session: Session, settings: Settings, viewer: Viewer) -> Inbox:
    everyone = viewer.can("all_chats")
    mine = None if everyone else viewer.username
    sla = timedelta(minutes=settings.handoff_sla_minutes)
    as_of, now = settings.today(), utcnow()

    def rows(status: str, taken_by: str | None = None, limit: int = 200) -> list[QueueRow]:
        return queue_rows(
            session, status=status, as_of=as_of, now=now, sla=sla, taken_by=taken_by, limit=limit
        )

    return Inbox(
        waiting=rows("waiting"),
        taken=rows("taken", mine),
        closed=rows("closed", mine, CLOSED_SHOWN),
        everyone=everyone,
        sla_seconds=int(sla.total_seconds()),
    )


def _audit_view(session: Session, viewer: Viewer, inbox: Inbox) -> None:
    """One entry per borrower whose figures the inbox showed."""
    refs = {r.borrower_ref for r in inbox.rows if r.borrower_ref}
    if not refs:
        return
    for borrower_id in session.scalars(
        select(Borrower.id).where(Borrower.ref.in_(refs)).order_by(Borrower.id)
    ):
        audit(session, viewer.actor, "read", borrower_id=borrower_id, subject="handoff inbox")


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, viewer: QueueViewer, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    inbox = load_inbox(session, settings, viewer)
    _audit_view(session, viewer, inbox)
    t = translator(viewer.language)
    response = render(
        request,
        "inbox.html",
        language=viewer.language,
        viewer=viewer,
        nav="inbox",
        inbox=inbox,
        sla_minutes=settings.handoff_sla_minutes,
        done=request.query_params.get("done"),
        error_text=t("inbox.taken_elsewhere")
        if request.query_params.get("taken_elsewhere")
        else "",
    )
    response.headers["ETag"] = inbox.etag()
    return response


@router.get("/inbox/queue", response_class=HTMLResponse)
def inbox_fragment(
    request: Request,
    viewer: QueueViewer,
    session: SessionDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The queue part of the page, for its live refresh."""
    inbox = load_inbox(session, settings, viewer)
    etag = inbox.etag()
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-store"})
    _audit_view(session, viewer, inbox)
    response = render(request, "_queue.html", language=viewer.language, viewer=viewer, inbox=inbox)
    response.headers["ETag"] = etag
    return response
