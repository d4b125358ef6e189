"""The gateway's metrics, for Prometheus at GET /metrics with `Authorization: Bearer
<METRICS_TOKEN>` (no METRICS_TOKEN: 404; nginx does not pass /metrics on: Prometheus scrapes each
replica directly). Each replica counts its own; Prometheus adds them up. Labels are channels and
fixed words, never a chat id, a phone number or a borrower's words."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.spool import Spool

log = logging.getLogger(__name__)

MESSAGES_RECEIVED = Counter(
    "gateway_messages_received",
    "Borrower messages the gateway took, by channel and outcome: answered (by the assistant), "
    "human (a collector has the chat), kept (the backend was down: in the spool), "
    "assistant_down (Rasa failed: the borrower was told), refused (the backend refused it), "
    "unknown_command, duplicate (a repeat: answered again with the same replies, Rasa runs a "
    "turn once).",
    ["channel", "outcome"],
)
MESSAGES_IN_PROGRESS = Gauge(
    "gateway_messages_in_progress",
    "Borrower messages this replica is handling now (from the message received to its replies "
    "logged), by channel: what a replica that dies takes with it, to be sent again.",
    ["channel"],
)
REPLIES_SENT = Counter(
    "gateway_replies_sent",
    "Replies to a borrower's message, sent on Telegram or returned to the web chat page.",
    ["channel"],
)
REPLY_SECONDS = Histogram(
    "gateway_reply_seconds",
    "From a borrower's message received to the replies sent (Telegram) or returned (web chat).",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0),
)
RASA_ERRORS = Counter(
    "gateway_rasa_errors",
    "Calls to Rasa that failed, by call (turn, resume) and kind (timeout, connection, "
    "http_4xx, http_5xx, other).",
    ["call", "kind"],
)
RASA_RETRIES = Counter(
    "gateway_rasa_retries",
    "Turns sent to Rasa again after an attempt failed on the way (no replica reachable, a "
    "replica gone mid-turn, Rasa's lock or tracker store down); Rasa runs a turn once.",
)
TELEGRAM_SEND_RETRIES = Counter(
    "gateway_telegram_send_retries",
    "Replies to a borrower sent to Telegram again after Telegram refused them for now (429, "
    "5xx) or could not be reached.",
)
OUTBOUND_DELIVERIES = Counter(
    "gateway_outbound_deliveries",
    "Outbound messages (a collector's reply, a notice, a reminder) the gateway tried to deliver, "
    "by channel and result: delivered, stored (web chat closed: kept in its history), retry, "
    "failed.",
    ["channel", "status"],
)


CHANNELS = ("telegram", "webchat", "whatsapp", "sms")
OUTCOMES = (
    "answered", "human", "kept", "assistant_down", "refused", "unknown_command", "duplicate"
)  # fmt: skip


def show_zeroes() -> None:
    """Every known series from the start, at 0: a rate or an alert needs no first event."""
    for channel in CHANNELS:
        for outcome in OUTCOMES:
            MESSAGES_RECEIVED.labels(channel, outcome)
        MESSAGES_IN_PROGRESS.labels(channel)
        REPLIES_SENT.labels(channel)
        REPLY_SECONDS.labels(channel)
        for result in ("delivered", "stored", "retry", "failed"):
            OUTBOUND_DELIVERIES.labels(channel, result)
    for call in ("turn", "resume"):
        for kind in ("timeout", "connection", "http_4xx", "http_5xx", "other"):
            RASA_ERRORS.labels(call, kind)


class SpoolFigures(Collector):
    """The spool's depth, read from its file when Prometheus asks (`spool()`: the running
    gateway's, None before it has started)."""

    def __init__(self, spool: Callable[[], Spool | None]) -> None:
        self.spool = spool

    def collect(self) -> Iterator[Metric]:
        if (spool := self.spool()) is None:
            return
        try:
            kept, aside = spool.pending(), spool.set_aside_count()
        except Exception as exc:  # a metric must never fail the scrape
            log.warning("metrics: the spool could not be read (%s)", type(exc).__name__)
            return
        yield _gauge(
            "gateway_spool_kept_batches",
            "Message batches kept while the backend was down, waiting to be logged.",
            kept,
        )
        yield _gauge(
            "gateway_spool_set_aside_batches",
            "Kept batches the backend would not take, set aside for an operator (see /healthz).",
            aside,
        )


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], float(value))
    return family


router = APIRouter()
_bearer = HTTPBearer(auto_error=False)


def require_metrics_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    expected: str | None = request.app.state.settings.metrics_token
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
async def metrics(request: Request) -> Response:
    """The process's counters (and Python's process figures), then this app's spool."""
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.figures_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
