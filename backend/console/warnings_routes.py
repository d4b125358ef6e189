"""The Warnings page: the loans each day's early warning flagged, most signals first, with the
day's snapshot figures and what was done since, filtered by one signal. For operations,
supervisors and admins, as the Portfolio page is; a collector gets the same refusal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from backend.audit.service import audit
from backend.console import warning_texts
from backend.console import warnings_view as view
from backend.console.dashboard_view import hold_reason
from backend.console.portfolio_routes import PortfolioViewer
from backend.console.portfolio_view import bucket_name
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(
    request: Request,
    viewer: PortfolioViewer,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[date | None, Query()] = None,  # the latest day with warnings by default
    signal: Annotated[str, Query(max_length=32, pattern=r"^[a-z_]*$")] = "",
) -> HTMLResponse:
    found = view.load(session, day=day, signal=signal, zone=settings.business_timezone)
    # The page names borrowers and their debts: one entry per borrower shown, as the inbox.
    for borrower_id in sorted({r.borrower_id for r in found.rows}):
        audit(
            session,
            viewer.actor,
            "read",
            borrower_id=borrower_id,
            subject=f"warnings of {found.day}",
        )
    return render(
        request,
        "warnings.html",
        language=viewer.language,
        viewer=viewer,
        nav="warnings",
        w=found,
        shown=view.SHOWN,
        signal_name=warning_texts.signal_name,
        signal_text=warning_texts.signal_text,
        bucket_name=bucket_name,
        hold_reason=hold_reason,
    )
