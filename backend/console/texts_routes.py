"""What the assistant says, changed from the console: operations propose a wording (with a note
saying why), a supervisor or admin approves it (never their own), and it runs within seconds,
with no restart (the action server and Rasa follow `GET /api/v1/texts/running`). Any version
that ran can be run again in one click; every step is audited. Export and import keep the
wording in git for a lender who wants that."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

import yaml
from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, Viewer, need
from backend.console.dashboard_view import interval_text, verdict
from backend.console.rendering import render
from backend.deps import SessionDep
from backend.errors import DomainError, NotFound
from backend.ledger.repository import loan_by_ref
from backend.policy_files import read_yaml
from backend.texts import experiments, service
from backend.texts.catalogue import (
    ALL_SECTIONS,
    EXPERIMENTS,
    LANGUAGES,
    OUTCOMES,
    SECTIONS,
    Catalogue,
    Change,
    as_yaml,
    changes,
    figures,
)
from backend.texts.preview import filled, loan_figures
from backend.texts.service import TextsInvalid

router = APIRouter(prefix="/console/texts", include_in_schema=False)

TextsViewer = Annotated[Viewer, need("versions")]
MAX_IMPORT_BYTES = 512 * 1024


def _share(percent: str) -> float | str:
    """The form's percentage as a share; what was typed when it is not a number (refused by
    the rules, with the field named)."""
    try:
        return round(float(percent.strip().rstrip("%")) / 100, 4)
    except ValueError:
        return percent


def _catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.texts
    return catalogue


@router.get("", response_class=HTMLResponse)
def texts_page(
    request: Request,
    viewer: TextsViewer,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    loan: Annotated[str, Query(max_length=64)] = "",
    language: Annotated[Literal["", "zh", "en"], Query()] = "",
) -> HTMLResponse:
    """`loan` (and `language`): the waiting proposals as that borrower would read them."""
    return _page(request, session, viewer, q=q.strip(), done=request.query_params.get("done"),
                 loan_ref=loan.strip(), language=language)  # fmt: skip


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    q: str = "",
    done: str | None = None,
    error_text: str = "",
    status_code: int = 200,
    loan_ref: str = "",
    language: str = "",
) -> HTMLResponse:
    catalogue = _catalogue(request)
    now = service.running(session)
    versions = service.history(session)
    pending = [
        (v, changes(service.overrides_of(session, v.base), v.overrides, catalogue))
        for v in versions
        if v.status == "proposed"
    ]
    settings: Settings = request.app.state.settings
    previewed = None
    if loan_ref:
        previewed = loan_by_ref(session, loan_ref)
        if previewed is None:
            error_text = error_text or f"no loan {loan_ref}"
        else:
            figures = loan_figures(session, previewed, settings.today())
            audit(session, viewer.actor, "read", borrower_id=previewed.borrower_id,
                  subject=f"loan {previewed.ref} texts preview")  # fmt: skip
            pending = [
                (v, [_filled(c, figures) for c in diff if not language or c.language == language])
                for v, diff in pending
            ]
    entries = [
        (
            section,
            key,
            {lang: catalogue.said(now.overrides, section, key, lang) for lang in LANGUAGES},
            key in now.overrides.get(section, {}),
        )
        for section in SECTIONS
        for key, shipped in catalogue.section(section).items()
        if _matches(q, key, shipped, now.overrides.get(section, {}).get(key))
    ]
    tried = now.overrides.get(EXPERIMENTS, {})
    results = {}
    if tried:
        results = experiments.since(
            session,
            service.experiments_started(session, now),
            results_days=request.app.state.outreach.policy.results_days,
            zone=settings.business_timezone,
        )
    return render(
        request,
        "texts.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="texts",
        running=now,
        pending=pending,
        versions=versions,
        entries=entries,
        experiments=[(key, tried[key], results.get(key)) for key in tried],
        preview_loan=loan_ref,
        preview_language=language,
        previewed=previewed,
        verdict=verdict,
        interval_text=interval_text,
        q=q,
        done=done,
        error_text=error_text,
    )


def _filled(change: Change, figures: dict[str, object]) -> Change:
    if change.section == EXPERIMENTS and change.language == "share":
        return change
    return replace(
        change, before=filled(change.before, figures), after=filled(change.after, figures)
    )


def _matches(q: str, key: str, shipped: object, override: object) -> bool:
    needle = q.casefold()
    return not q or needle in f"{key} {shipped} {override or ''}".casefold()


@router.get("/edit", response_class=HTMLResponse)
def edit_page(
    request: Request,
    viewer: TextsViewer,
    session: SessionDep,
    section: Annotated[Literal["texts", "buttons", "notices"], Query()],
    key: Annotated[str, Query(max_length=200)],
) -> HTMLResponse:
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    catalogue = _catalogue(request)
    if key not in catalogue.section(section):
        raise NotFound(f"no text {section}.{key}")
    now = service.running(session)
    values = {lang: catalogue.said(now.overrides, section, key, lang) for lang in LANGUAGES}
    tried = now.overrides.get(EXPERIMENTS, {}).get(key, {})
    values |= {f"challenger_{lang}": tried.get(lang, "") for lang in LANGUAGES}
    values["share"] = str(round(float(tried.get("share", 0.5)) * 100))
    values["outcome"] = str(tried.get("outcome", OUTCOMES[0]))
    return _edit(request, viewer, catalogue, section, key, values, note="", errors={})


def _edit(
    request: Request,
    viewer: Viewer,
    catalogue: Catalogue,
    section: str,
    key: str,
    values: dict[str, str],
    *,
    note: str,
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    shipped = catalogue.section(section)[key]
    return render(
        request,
        "text_edit.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="texts",
        section=section,
        key=key,
        values=values,
        shipped=shipped,
        figures=sorted(set().union(*(figures(t) for t in shipped.values()))),
        can_try=section == "texts" and not key.startswith("utter_"),
        outcomes=OUTCOMES,
        note=note,
        errors=errors,
    )


@router.post("/propose")
def propose(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    section: Annotated[Literal["texts", "buttons", "notices"], Form()],
    key: Annotated[str, Form(max_length=200)],
    zh: Annotated[str, Form(max_length=10_000)] = "",
    en: Annotated[str, Form(max_length=10_000)] = "",
    challenger_zh: Annotated[str, Form(max_length=10_000)] = "",
    challenger_en: Annotated[str, Form(max_length=10_000)] = "",
    share: Annotated[str, Form(max_length=8)] = "50",
    outcome: Annotated[str, Form(max_length=32)] = OUTCOMES[0],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    catalogue = _catalogue(request)
    if key not in catalogue.section(section):
        raise NotFound(f"no text {section}.{key}")
    # Browsers send a textarea's line breaks as CRLF; the shipped texts use LF.
    values = {"zh": zh.replace("\r\n", "\n"), "en": en.replace("\r\n", "\n")}
    challenger = {
        "zh": challenger_zh.replace("\r\n", "\n"),
        "en": challenger_en.replace("\r\n", "\n"),
    }
    now = service.running(session)
    overrides = {s: {k: dict(v) for k, v in now.overrides.get(s, {}).items()} for s in ALL_SECTIONS}
    overrides[section][key] = values
    # A second wording to try: both languages written, or none (which ends a running one).
    overrides[EXPERIMENTS].pop(key, None)
    if section == "texts" and (challenger["zh"].strip() or challenger["en"].strip()):
        overrides[EXPERIMENTS][key] = {**challenger, "share": _share(share), "outcome": outcome}
    try:
        with session.begin_nested():
            version = service.propose(session, catalogue, overrides, note=note, by=viewer.username)
            audit(session, viewer.actor, "create", borrower_id=None,
                  subject=f"texts version {version.number} proposed: {section}.{key}")  # fmt: skip
    except TextsInvalid as exc:
        fields = {f"{section}.{key}.{lang}": lang for lang in LANGUAGES}
        fields |= {f"{EXPERIMENTS}.{key}.{lang}": f"challenger_{lang}" for lang in LANGUAGES}
        fields[f"{EXPERIMENTS}.{key}.share"] = "share"
        fields[f"{EXPERIMENTS}.{key}.outcome"] = "outcome"
        errors = {fields.get(p.field, "form"): p.message for p in exc.problems}
        typed = {**values, **{f"challenger_{k}": v for k, v in challenger.items()}}
        typed |= {"share": share, "outcome": outcome}
        return _edit(request, viewer, catalogue, section, key, typed, note=note, errors=errors,
                     status_code=422)  # fmt: skip
    except DomainError as exc:
        field = "note" if exc.code == "note_required" else "form"
        typed = {**values, **{f"challenger_{k}": v for k, v in challenger.items()}}
        typed |= {"share": share, "outcome": outcome}
        return _edit(request, viewer, catalogue, section, key, typed, note=note,
                     errors={field: exc.message}, status_code=exc.status_code)  # fmt: skip
    return RedirectResponse("/console/texts?done=proposed", status_code=303)


# Before /{number}/{decision}, which would otherwise take /rollback/N.
@router.post("/rollback/{number}")
def roll_back(
    number: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not viewer.can("approvals"):
        raise NotAllowed("approvals")
    try:
        with session.begin_nested():
            version = service.roll_back(
                session, _catalogue(request), number, by=viewer.username, note=note
            )
            subject = f"texts version {version.number} runs: back to version {number}"
            audit(session, viewer.actor, "update", borrower_id=None, subject=subject)
    except DomainError as exc:
        session.expire_all()
        return _page(request, session, viewer, error_text=exc.message,
                     status_code=exc.status_code)  # fmt: skip
    return RedirectResponse("/console/texts?done=rolled_back", status_code=303)


@router.post("/{number}/{decision}")
def decide(
    number: int,
    decision: Literal["approve", "reject"],
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not viewer.can("approvals"):
        raise NotAllowed("approvals")
    try:
        with session.begin_nested():
            if decision == "approve":
                version = service.approve(
                    session, _catalogue(request), number, by=viewer.username, note=note
                )
            else:
                version = service.reject(session, number, by=viewer.username, note=note)
            audit(session, viewer.actor, "update", borrower_id=None,
                  subject=f"texts version {number} {version.status}")  # fmt: skip
    except DomainError as exc:
        session.expire_all()
        return _page(request, session, viewer, error_text=exc.message,
                     status_code=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/console/texts?done={version.status}", status_code=303)


@router.get("/export")
def export(
    viewer: TextsViewer,
    session: SessionDep,
    version: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """A version's overrides (the running one by default) as YAML, for git and `import`."""
    number = service.running(session).number if version is None else version
    body = f"# texts version {number}: overrides of config/responses.yml\n" + as_yaml(
        service.overrides_of(session, number)
    )
    return Response(
        body,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="texts-{number}.yml"'},
    )


@router.post("/import")
def import_file(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    file: UploadFile,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Overrides from an exported file (or one kept in git), as a new proposed version."""
    if not viewer.can("operations"):
        raise NotAllowed("operations")
    data = file.file.read(MAX_IMPORT_BYTES + 1)  # a sync route: off the event loop
    try:
        if len(data) > MAX_IMPORT_BYTES:
            raise ValueError(f"larger than {MAX_IMPORT_BYTES // 1024} KB")
        overrides = read_yaml(data.decode("utf-8")) or {}
    except (ValueError, yaml.YAMLError) as exc:
        return _page(request, session, viewer, error_text=f"not a texts file: {exc}",
                     status_code=422)  # fmt: skip
    try:
        with session.begin_nested():
            version = service.propose(
                session, _catalogue(request), overrides, note=note, by=viewer.username
            )
            audit(session, viewer.actor, "create", borrower_id=None,
                  subject=f"texts version {version.number} proposed: imported")  # fmt: skip
    except DomainError as exc:
        session.expire_all()
        return _page(request, session, viewer, error_text=exc.message,
                     status_code=exc.status_code)  # fmt: skip
    return RedirectResponse("/console/texts?done=proposed", status_code=303)
