"""What operators see of the backend: JSON log lines carrying the request id (logs.py,
observe.py), and Prometheus metrics at /metrics behind METRICS_TOKEN (metrics.py, figures.py,
routes.py)."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, disable_created_metrics

from backend.config import Settings
from backend.monitoring import logs, metrics, routes
from backend.monitoring.figures import DatabaseFigures
from backend.monitoring.observe import ObservedRequests


def install(app: FastAPI, settings: Settings) -> None:
    """Last in create_app: the middleware it adds is the outermost, so every response, a 413 or
    a crash included, is counted and carries its request id."""
    logs.configure(as_json=logs.wants_json(settings.log_format, settings.app_env))
    disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
    metrics.show_zeroes()
    figures = DatabaseFigures()
    registry = CollectorRegistry()  # the app's own: each app (tests build many) its figures
    registry.register(figures)
    app.state.database_figures = figures
    app.state.figures_registry = registry
    app.include_router(routes.router)
    app.add_middleware(ObservedRequests, routes=app.router.routes)
