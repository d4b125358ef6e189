"""The Compliance page (supervisors, operations, admins): the record a regulator reads of
every decision on a proactive message and every opt-out in a period, with its CSV. Every view
and every export is audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from backend.audit.service import audit
from backend.console.auth import Viewer, need
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.outreach import compliance_report as report

router = APIRouter(prefix="/console", include_in_schema=False)

ComplianceViewer = Annotated[Viewer, need("compliance")]
SHOWN = 500  # decisions on the page; the CSV has them all
DEFAULT_DAYS = 7


def _period(settings: SettingsDep, start: date | None, end: date | None) -> tuple[date, date]:
    end = end or settings.today()
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def _subject(start: date, end: date, borrower: str) -> str:
    return f"compliance report {start}..{end}" + (f" of {borrower}" if borrower else "")


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request,
    viewer: ComplianceViewer,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    borrower: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    start, end = _period(settings, start, end)
    found = None
    if start <= end:
        found = report.build(
            session,
            start=start,
            end=end,
            zone=settings.business_timezone,
            borrower_ref=borrower.strip() or None,
        )
        audit(
            session, viewer.actor, "read", borrower_id=None, subject=_subject(start, end, borrower)
        )
    return render(
        request,
        "compliance.html",
        language=viewer.language,
        viewer=viewer,
        nav="compliance",
        start=start,
        end=end,
        borrower=borrower,
        report=found,
        shown=SHOWN,
        status_code=200 if found is not None else 422,
    )


@router.get("/compliance.csv")
def compliance_csv(
    viewer: ComplianceViewer,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    borrower: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    start, end = _period(settings, start, end)
    if end < start:
        return Response("the period ends before it starts\n", status_code=422)
    found = report.build(
        session,
        start=start,
        end=end,
        zone=settings.business_timezone,
        borrower_ref=borrower.strip() or None,
    )
    audit(
        session,
        viewer.actor,
        "read",
        borrower_id=None,
        subject=_subject(start, end, borrower) + " (CSV)",
    )
    name = f"compliance-{start}-{end}.csv"
    return Response(
        report.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
