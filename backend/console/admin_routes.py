"""Admin pages: the console's users (create, change role, unlock, deactivate, reset a
password) and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.audit.service import audit
from backend.borrowers.models import Borrower
from backend.console.auth import FormViewerDep, NotAllowed, Viewer, need
from backend.console.refusals import refusal_text
from backend.console.rendering import render
from backend.deps import SessionDep
from backend.errors import DomainError
from backend.staff import rules
from backend.staff import service as staff
from backend.types import utcnow

router = APIRouter(prefix="/console", include_in_schema=False)

AdminViewer = Annotated[Viewer, need("users")]
AUDIT_SHOWN = 200


def _users_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    done: str | None = None,
    error_text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "users.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="users",
        users=staff.users(session),
        roles=rules.ROLES,
        now=utcnow(),
        done=done,
        error_text=error_text,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, viewer: AdminViewer, session: SessionDep) -> HTMLResponse:
    return _users_page(request, session, viewer, done=request.query_params.get("done"))


def _admin(viewer: Viewer) -> None:
    if not viewer.can("users"):
        raise NotAllowed("users")


@router.post("/users")
def create_user(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=40)],
    display_name: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form(max_length=16)],
    language: Annotated[str, Form(max_length=2)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    _admin(viewer)
    try:
        with session.begin_nested():
            user = staff.create_user(
                session,
                username=username,
                display_name=display_name,
                role=role,
                language=language,
                password=password,
            )
            audit(
                session, viewer.actor, "create", borrower_id=None, subject=f"user {user.username}"
            )
    except DomainError as exc:
        return _users_page(
            request,
            session,
            viewer,
            error_text=refusal_text(exc, viewer.language),
            status_code=exc.status_code,
        )
    return RedirectResponse("/console/users?done=user", status_code=303)


@router.post("/users/{username}")
def change_user(
    username: str,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    change: Annotated[Literal["role", "unlock", "activate", "deactivate", "password"], Form()],
    role: Annotated[str | None, Form(max_length=16)] = None,
    password: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    _admin(viewer)
    try:
        with session.begin_nested():
            user = staff.get_user(session, username)
            if user.username == viewer.username and change in ("role", "deactivate"):
                raise DomainError("you cannot change your own role or deactivate yourself")
            staff.update_user(
                session,
                user=user,
                now=utcnow(),
                role=role if change == "role" else None,
                active={"activate": True, "deactivate": False}.get(change),
                unlock=change == "unlock",
                password=password if change == "password" else None,
            )
            if change == "unlock":  # the addresses locked out of it, in this process
                request.app.state.login_guard.unlock(user.username)
            audit(
                session,
                viewer.actor,
                "update",
                borrower_id=None,
                subject=f"user {username}: {change}",
            )
    except DomainError as exc:
        return _users_page(
            request,
            session,
            viewer,
            error_text=refusal_text(exc, viewer.language),
            status_code=exc.status_code,
        )
    return RedirectResponse("/console/users?done=user", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    borrower: str = "",
    actor: str = "",
) -> HTMLResponse:
    """The latest entries, by borrower ref and/or actor (e.g. user:alice)."""
    query = select(AuditEntry, Borrower.ref).outerjoin(
        Borrower, AuditEntry.borrower_id == Borrower.id
    )
    if borrower.strip():
        query = query.where(Borrower.ref == borrower.strip())
    if actor.strip():
        query = query.where(AuditEntry.actor == actor.strip())
    rows = session.execute(query.order_by(AuditEntry.id.desc()).limit(AUDIT_SHOWN)).all()
    return render(
        request,
        "audit.html",
        language=viewer.language,
        viewer=viewer,
        nav="audit",
        rows=rows,
        borrower=borrower,
        actor=actor,
    )
