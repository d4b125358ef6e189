"""The Compliance page (supervisors, operations, admins): the record a regulator reads of
every decision on a proactive message and every opt-out in a period, with its CSV. Every view
and every export is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.config import Settings
from backend.console.auth import Viewer, need
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.outreach import compliance_report as report

router = APIRouter(prefix="/console", include_in_schema=False)

ComplianceViewer = Annotated[Viewer, need("compliance")]
SHOWN = 500  # decisions on the page; the CSV has them all
DEFAULT_DAYS = 7


@dataclass(frozen=True, slots=True)
class Asked:
    """The period and borrower the page or its CSV is asked for (the last 7 business days by
    default)."""

    start: date
    end: date
    borrower: str

    @property
    def subject(self) -> str:
        who = f" of {self.borrower}" if self.borrower else ""
        return f"compliance report {self.start}..{self.end}{who}"

    def read(self, session: Session, settings: Settings) -> report.Report:
        return report.build(
            session,
            start=self.start,
            end=self.end,
            zone=settings.business_timezone,
            borrower_ref=self.borrower or None,
        )


def asked(
    settings: SettingsDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    borrower: Annotated[str, Query(max_length=64)] = "",
) -> Asked:
    end = end or settings.today()
    return Asked(start or end - timedelta(days=DEFAULT_DAYS - 1), end, borrower.strip())


AskedDep = Annotated[Asked, Depends(asked)]


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request,
    viewer: ComplianceViewer,
    session: SessionDep,
    settings: SettingsDep,
    q: AskedDep,
) -> HTMLResponse:
    found = None
    if q.start <= q.end:
        found = q.read(session, settings)
        audit(session, viewer.actor, "read", borrower_id=None, subject=q.subject)
    return render(
        request,
        "compliance.html",
        language=viewer.language,
        viewer=viewer,
        nav="compliance",
        start=q.start,
        end=q.end,
        borrower=q.borrower,
        report=found,
        shown=SHOWN,
        status_code=200 if found is not None else 422,
    )


@router.get("/compliance.csv")
def compliance_csv(
    viewer: ComplianceViewer, session: SessionDep, settings: SettingsDep, q: AskedDep
) -> Response:
    if q.end < q.start:
        return Response("the period ends before it starts\n", status_code=422)
    found = q.read(session, settings)
    audit(session, viewer.actor, "read", borrower_id=None, subject=f"{q.subject} (CSV)")
    return Response(
        report.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="compliance-{q.start}-{q.end}.csv"'},
    )
