"""GET /metrics: Prometheus's text format, for a scraper that sends `Authorization: Bearer
<METRICS_TOKEN>`. A token of its own, not SERVICE_TOKEN: whoever holds the service token can read
every borrower's loans through /api/v1, and a monitoring system's credentials travel further
than that should. Without METRICS_TOKEN the route answers 404, as if it were not there; nginx
does not pass /metrics on either (deploy/nginx.conf): Prometheus scrapes each replica directly."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from backend.deps import SessionDep, SettingsDep
from backend.types import utcnow

router = APIRouter()
_bearer = HTTPBearer(auto_error=False)


def require_metrics_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    expected = settings.metrics_token
    if not expected:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong metrics token",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_metrics_token)])
def metrics(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The process's counters (the default registry: these and Python's process figures), then
    this app's figures from the database."""
    state = request.app.state
    state.database_figures.refresh(session, now=utcnow(), today=settings.today())
    body = generate_latest(REGISTRY) + generate_latest(state.figures_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
