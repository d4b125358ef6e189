"""The Portfolio page: the loan book over time from the daily snapshots (buckets by month end,
roll rates between month ends, vintage curves), as tables and (with Chart.js) as charts. For
operations, supervisors and admins; a collector gets the dashboard's refusal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from backend.analytics import portfolio
from backend.console import portfolio_view as view
from backend.console.auth import Viewer, need
from backend.console.dashboard_routes import CHART_JS
from backend.console.i18n import translator
from backend.console.rendering import render
from backend.deps import SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)

# Operations, supervisors and admins (`portfolio` in staff/rules.py): the book's shape is
# theirs to watch. A collector gets the dashboard's 403 page.
PortfolioViewer = Annotated[Viewer, need("portfolio")]


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio_page(
    request: Request,
    viewer: PortfolioViewer,
    session: SessionDep,
    end: Annotated[date | None, Query()] = None,  # the roll rates' later month end
) -> HTMLResponse:
    book = portfolio.build(session, roll_end=end)
    return render(
        request,
        "portfolio.html",
        language=viewer.language,
        viewer=viewer,
        nav="portfolio",
        book=book,
        data=view.chart_data(book, translator(viewer.language)),
        charts=CHART_JS.exists(),
        v=view,
    )
