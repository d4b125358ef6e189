"""Operations' view of the policy in force: each file under config/ that the backend loads,
whether it validates, and its text. Changes go through the files (version control)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.console.auth import Viewer, need
from backend.console.rendering import render
from backend.deps import SettingsDep
from backend.outreach.setup import load_outreach_config
from backend.plans.policy import PlanPolicy
from backend.policy_files import PolicyFileError, load_policy
from backend.promises.rules import PromisePolicy

router = APIRouter(prefix="/console", include_in_schema=False)

OperationsViewer = Annotated[Viewer, need("operations")]
OUTREACH_FILES = frozenset({"outreach.yml", "outreach_templates.yml", "compliance.yml"})
CHECKED: dict[str, type[BaseModel]] = {"plans.yml": PlanPolicy, "promises.yml": PromisePolicy}


@dataclass(frozen=True, slots=True)
class PolicyFile:
    name: str
    text: str
    error: str | None  # None: valid (or not one the backend validates)
    checked: bool


def policy_files(config_dir: Path) -> list[PolicyFile]:
    outreach_error = _outreach_error(config_dir)
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
        found.append(PolicyFile(path.name, path.read_text(encoding="utf-8"), error, checked))
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
    request: Request, viewer: OperationsViewer, settings: SettingsDep
) -> HTMLResponse:
    return render(
        request,
        "operations.html",
        language=viewer.language,
        viewer=viewer,
        nav="operations",
        files=policy_files(settings.config_dir),
        version=settings.app_version,
    )
