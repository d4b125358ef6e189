"""Supervisors decide settlement requests; the borrower is told the outcome in their chat."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, Viewer, need
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError
from backend.plans import service as plans
from backend.plans.models import ApprovalRequest

router = APIRouter(prefix="/console/approvals", include_in_schema=False)

ApprovalViewer = Annotated[Viewer, need("approvals")]


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    viewer: Viewer,
    *,
    done: str | None = None,
    error_text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    pending = list(
        session.scalars(
            select(ApprovalRequest)
            .where(ApprovalRequest.status == "pending")
            .order_by(ApprovalRequest.created_at, ApprovalRequest.id)
        )
    )
    for request_row in pending:
        audit(
            session,
            viewer.actor,
            "read",
            borrower_id=request_row.loan.borrower_id,
            subject=f"approval request {request_row.id}",
        )
    return render(
        request,
        "approvals.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="approvals",
        pending=pending,
        done=done,
        error_text=error_text,
    )


@router.get("", response_class=HTMLResponse)
def approvals_page(
    request: Request, viewer: ApprovalViewer, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    return _page(request, session, settings, viewer, done=request.query_params.get("done"))


@router.post("/{request_id}/{decision}")
def decide(
    request_id: int,
    decision: Literal["approve", "reject"],
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not viewer.can("approvals"):
        raise NotAllowed("approvals")
    try:
        with session.begin_nested():
            decided = plans.decide(
                session,
                request=plans.get_approval(session, request_id),
                approve=decision == "approve",
                decided_by=viewer.username,
                note=note.strip(),
                today=settings.today(),
                policy=request.app.state.plan_policy,
            )
            audit(
                session,
                viewer.actor,
                "update",
                borrower_id=decided.loan.borrower_id,
                subject=f"approval request {decided.id} {decided.status}",
            )
    except DomainError as exc:
        session.expire_all()
        return _page(
            request,
            session,
            settings,
            viewer,
            error_text=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse("/console/approvals?done=decided", status_code=303)
