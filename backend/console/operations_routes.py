"""Operations' view of the policy in force: each file under config/ that the backend loads,
whether it validates, its text and the version this process runs; and a preview of what that
policy does with one loan on a date. Changes go through the files (version control)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.audit.service import audit
from backend.console.auth import Viewer, need
from backend.console.loan_preview import loan_preview
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.outreach.setup import load_outreach_config
from backend.outreach.templates import LANGUAGES
from backend.plans.policy import PlanPolicy
from backend.policy_files import FileVersion, PolicyFileError, content_hash, load_policy
from backend.policy_versions import service as policy_service
from backend.policy_versions.files import Policies
from backend.policy_versions.files import load as load_policies
from backend.promises.rules import PromisePolicy

router = APIRouter(prefix="/console", include_in_schema=False)

# Operations, and the supervisors and admins who approve policy versions: the preview shows
# what a proposed version would do before they decide.
OperationsViewer = Annotated[Viewer, need("versions")]
OUTREACH_FILES = frozenset({"outreach.yml", "outreach_templates.yml", "compliance.yml"})
CHECKED: dict[str, type[BaseModel]] = {"plans.yml": PlanPolicy, "promises.yml": PromisePolicy}


@dataclass(frozen=True, slots=True)
class PolicyFile:
    name: str
    text: str
    error: str | None  # None: valid (or not one the backend validates)
    checked: bool
    sha: str  # of the file as it is now
    loaded: FileVersion | None  # as this process loaded it at start-up (None: not loaded)

    @property
    def changed_since_loaded(self) -> bool:
        return self.loaded is not None and self.loaded.sha != self.sha


def policy_files(
    config_dir: Path, loaded: Mapping[str, FileVersion] | None = None
) -> list[PolicyFile]:
    outreach_error = _outreach_error(config_dir)
    loaded = loaded or {}
    found = []
    for path in sorted(config_dir.glob("*.yml")):
        model = CHECKED.get(path.name)
        error = None
        if model is not None:
            try:
                load_policy(path, model)
            except PolicyFileError as exc:
                error = str(exc).removeprefix(f"{path}: ")
        elif path.name in OUTREACH_FILES:
            prefix = f"{path}: "
            if outreach_error and outreach_error.startswith(prefix):
                error = outreach_error.removeprefix(prefix)
        checked = model is not None or path.name in OUTREACH_FILES
        data = path.read_bytes()
        found.append(
            PolicyFile(
                path.name,
                data.decode("utf-8"),
                error,
                checked,
                content_hash(data),
                loaded.get(path.name) if checked else None,
            )
        )
    return found


def _outreach_error(config_dir: Path) -> str | None:
    """The reminder files validate together (a step names a template): the first problem."""
    try:
        load_outreach_config(config_dir)
    except PolicyFileError as exc:
        return str(exc)
    return None


@router.get("/operations", response_class=HTMLResponse)
def operations_page(
    request: Request,
    viewer: OperationsViewer,
    session: SessionDep,
    settings: SettingsDep,
    loan: Annotated[str, Query(max_length=64)] = "",
    as_of: Annotated[str, Query(max_length=10)] = "",
    language: Annotated[str, Query(max_length=2)] = "",
    policy_version: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The policy in force and, for a loan, what it would do with it on a date; with
    `policy_version`, what that version of a file (proposed, or one that ran) would do."""
    state = request.app.state
    policies: Policies = state.running_policies.policies
    previewing, version_error = None, ""
    if policy_version is not None:
        previewing = policy_service.by_id(session, policy_version)
        texts = {**policy_service.running_texts(session), previewing.file: previewing.content}
        # Checked when proposed; the files running since may not take it any more.
        try:
            policies = load_policies(settings.config_dir, texts, settings)
        except PolicyFileError as exc:
            version_error = str(exc).rsplit("/", 1)[-1]
    day, error_text = _business_date(as_of, settings.today())
    error_text = error_text or version_error
    language = language if language in LANGUAGES else ""
    loan_ref = loan.strip()
    preview = None
    if loan_ref and not error_text:
        preview = loan_preview(
            session,
            loan_ref=loan_ref,
            as_of=day,
            language=language,
            outreach=policies.outreach,
            plan_policy=policies.plans,
            promise_policy=policies.promises,
        )
        if preview is not None:  # the preview shows the borrower's name and figures
            audit(
                session,
                viewer.actor,
                "read",
                borrower_id=preview.loan.borrower_id,
                subject=f"loan {preview.loan.ref} policy preview as of {day.isoformat()}",
            )
    return render(
        request,
        "operations.html",
        language=viewer.language,
        viewer=viewer,
        nav="operations",
        files=policy_files(settings.config_dir, state.policy_versions),
        version=settings.app_version,
        loan_ref=loan_ref,
        as_of=day,
        error_text=error_text,
        preview_language=language,
        languages=LANGUAGES,
        preview=preview,
        previewing=previewing,
    )


PREVIEW_YEARS = 5  # a preview further off than this is a typo (and date arithmetic ends)


def _business_date(text: str, today: date) -> tuple[date, str]:
    """The preview's date (today when left empty), or today and why the text is not one."""
    if not text.strip():
        return today, ""
    try:
        chosen = date.fromisoformat(text.strip())
    except ValueError:
        return today, f"{text!r} is not a date (YYYY-MM-DD)"
    if abs((chosen - today).days) > PREVIEW_YEARS * 366:
        return today, f"{chosen} is more than {PREVIEW_YEARS} years from today"
    return chosen, ""
