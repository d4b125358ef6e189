"""Operations' dashboard: the period's figures for one slice of channel and language, each
with its definition, as tables and (when Chart.js is installed) as charts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from backend.analytics import dashboard
from backend.console import dashboard_view as view
from backend.console.auth import Viewer, need
from backend.console.i18n import translator
from backend.console.rendering import HERE, render
from backend.deps import SessionDep, SettingsDep
from backend.tuning import service as tuning

router = APIRouter(prefix="/console", include_in_schema=False)

OperationsViewer = Annotated[Viewer, need("operations")]
CHART_JS = HERE / "static" / "vendor" / "chart.umd.min.js"  # make setup / the image copy it
RESULTS_DAYS = 7  # without an outreach config on the app


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    viewer: OperationsViewer,
    session: SessionDep,
    settings: SettingsDep,
    period: Annotated[Literal["7", "30", "90"], Query()] = "30",
    channel: Annotated[Literal["", "telegram", "webchat", "whatsapp", "sms"], Query()] = "",
    language: Annotated[Literal["", "zh", "en"], Query()] = "",
) -> HTMLResponse:
    where = view.Filter(period=period, channel=channel, language=language)
    outreach = getattr(request.app.state, "outreach", None)
    results_days = outreach.policy.results_days if outreach else RESULTS_DAYS
    threshold = tuning.fallback_threshold(settings.nlu_dir)
    board = dashboard.build(
        session,
        where.scope(settings.today(), settings.business_timezone),
        fallback_threshold=threshold,
        results_days=results_days,
    )
    return render(
        request,
        "dashboard.html",
        language=viewer.language,
        viewer=viewer,
        nav="dashboard",
        where=where,
        board=board,
        data=view.chart_data(board, translator(viewer.language)),
        threshold=threshold,
        results_days=results_days,
        charts=CHART_JS.exists(),
        v=view,
    )
