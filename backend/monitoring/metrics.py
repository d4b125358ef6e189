"""The backend's counters, counted in the process that serves /metrics (the API). What another
process does (the outreach worker decides reminders) is read from the database at scrape time
instead: figures.py. Labels are route templates, methods, statuses and fixed words, never an id,
a phone number or a loan reference."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "backend_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "backend_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SERVER_ERRORS = Counter(
    "backend_http_server_errors",
    "HTTP requests answered with a 5xx (a crash, or 503 while the database is busy or down).",
    ["method", "route", "status"],
)
VERIFICATIONS = Counter(
    "backend_verifications",
    "Right-party verification attempts, by method (link_token, phone) and outcome "
    "(verified, failed, locked).",
    ["method", "outcome"],
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route: the path itself may be anything a caller made up


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """`method` as method_label() gives it."""
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    if status >= 500:
        SERVER_ERRORS.labels(method, route, str(status)).inc()


def count_verification(method: str, outcome: str) -> None:
    VERIFICATIONS.labels(method, outcome).inc()


def show_zeroes() -> None:
    """The verification series from the start, at 0: a rate or an alert needs no first event."""
    for method in ("link_token", "phone"):
        for outcome in ("verified", "failed", "locked"):
            VERIFICATIONS.labels(method, outcome)
