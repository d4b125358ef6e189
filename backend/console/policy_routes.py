"""The policy files changed from the console: the repayment-plan and promise policy, the reminder
schedule and templates, and the compliance profiles. Operations propose a file's new text with a
note; the start-up loaders check it with the other files as they run, and the problems are
shown by field beside the editor. A supervisor or admin approves it (compliance: an admin), never
their own, and every backend replica and the worker run it within seconds. The Operations
preview shows what a proposed version would do with a loan before it runs. Any version that ran
can be run again in one click; every step is audited."""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, Viewer, need
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError, NotFound
from backend.policy_versions import service
from backend.policy_versions.files import EDITABLE, MAX_BYTES
from backend.policy_versions.models import PolicyVersion
from backend.policy_versions.service import PolicyInvalid

router = APIRouter(prefix="/console/policies", include_in_schema=False)

VersionsViewer = Annotated[Viewer, need("versions")]


def diff(before: str, after: str, file: str) -> list[str]:
    """A unified diff, line by line, for the page."""
    return list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), f"{file} (running)", f"{file} (proposed)",
            lineterm="", n=2,
        )
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
def policies_page(
    request: Request, viewer: VersionsViewer, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    return _page(request, session, settings, viewer, done=request.query_params.get("done"))


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
    pending = [
        (v, diff(service.text_of(session, settings.config_dir, v.file, v.base), v.content, v.file))
        for v in service.pending(session)
    ]
    by_file: dict[str, list[PolicyVersion]] = {name: [] for name in EDITABLE}
    for version in service.history(session):
        by_file[version.file].append(version)
    return render(
        request,
        "policies.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="policies",
        files=list(EDITABLE),
        decider=EDITABLE,
        running={name: service.running_number(session, name) for name in EDITABLE},
        in_force=request.app.state.running_policies.versions,
        pending=pending,
        by_file=by_file,
        done=done,
        error_text=error_text,
    )


@router.get("/edit", response_class=HTMLResponse)
def edit_page(
    request: Request,
    viewer: VersionsViewer,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[str, Query(max_length=64)],
) -> HTMLResponse:
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    _known(file)
    number = service.running_number(session, file)
    text = service.text_of(session, settings.config_dir, file, number)
    return _edit(request, viewer, file, number, text, note="", problems=[])


def _edit(
    request: Request,
    viewer: Viewer,
    file: str,
    number: int,
    text: str,
    *,
    note: str,
    problems: list[tuple[str, str]],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "policy_edit.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="policies",
        file=file,
        number=number,
        text=text,
        note=note,
        problems=problems,
        decider=EDITABLE[file],
    )


@router.post("/propose")
def propose(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[str, Form(max_length=64)],
    content: Annotated[str, Form(max_length=MAX_BYTES)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    _known(file)
    try:
        with session.begin_nested():
            version = service.propose(
                session, settings.config_dir, file, content, note=note, by=viewer.username
            )
            subject = f"policy {file} version {version.number} proposed"
            audit(session, viewer.actor, "create", borrower_id=None, subject=subject)
    except PolicyInvalid as exc:
        found = [(f"{p.file}: {p.field}" if p.file != file else p.field, p.message)
                 for p in exc.problems]  # fmt: skip
        return _edit(request, viewer, file, service.running_number(session, file), content,
                     note=note, problems=found, status_code=422)  # fmt: skip
    except DomainError as exc:
        field = "note" if exc.code == "note_required" else ""
        return _edit(request, viewer, file, service.running_number(session, file), content,
                     note=note, problems=[(field, exc.message)],
                     status_code=exc.status_code)  # fmt: skip
    return RedirectResponse("/console/policies?done=proposed", status_code=303)


# Before /{version_id}/{decision}, which would otherwise take /rollback/...
@router.post("/rollback")
def roll_back(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[str, Form(max_length=64)],
    to: Annotated[int, Form(ge=0)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not viewer.can("approvals"):
        raise NotAllowed("approvals")
    _known(file)
    try:
        with session.begin_nested():
            version = service.roll_back(
                session, settings.config_dir, file, to, by=viewer.username, may=viewer.can,
                note=note,
            )  # fmt: skip
            subject = f"policy {file} version {version.number} runs: back to version {to}"
            audit(session, viewer.actor, "update", borrower_id=None, subject=subject)
    except DomainError as exc:
        session.expire_all()
        return _page(request, session, settings, viewer, error_text=exc.message,
                     status_code=exc.status_code)  # fmt: skip
    return RedirectResponse("/console/policies?done=rolled_back", status_code=303)


@router.post("/{version_id}/{decision}")
def decide(
    version_id: int,
    decision: str,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if decision not in ("approve", "reject"):
        raise NotFound(f"no decision {decision!r}")
    if not viewer.can("approvals"):
        raise NotAllowed("approvals")
    try:
        with session.begin_nested():
            if decision == "approve":
                version = service.approve(
                    session, settings.config_dir, version_id, by=viewer.username,
                    may=viewer.can, note=note,
                )  # fmt: skip
            else:
                version = service.reject(session, version_id, by=viewer.username, note=note)
            subject = f"policy {version.file} version {version.number} {version.status}"
            audit(session, viewer.actor, "update", borrower_id=None, subject=subject)
    except DomainError as exc:
        session.expire_all()
        return _page(request, session, settings, viewer, error_text=exc.message,
                     status_code=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/console/policies?done={version.status}", status_code=303)


@router.get("/export")
def export(
    viewer: VersionsViewer,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[str, Query(max_length=64)],
    version: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """A version of a file (the running one by default), to keep in git or import again."""
    _known(file)
    number = service.running_number(session, file) if version is None else version
    return Response(
        service.text_of(session, settings.config_dir, file, number),
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{file}"'},
    )


def _known(file: str) -> None:
    if file not in EDITABLE:
        raise NotFound(f"{file} is not edited in the console")
