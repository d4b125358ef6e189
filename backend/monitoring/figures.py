"""Figures read from the database when Prometheus scrapes, so that every API replica reports the
same truth whichever process made it (the outreach worker decides reminders, any replica queues
outbound messages): the outbox, reminders and verification locks.

Cheap on purpose: pending outbound messages and planned reminders are small sets behind partial
indexes (hence the literal `status = '...'`, which a generic plan can still match to them);
today's reminders are one grouped count; locks are few. Read at most once every MAX_AGE_SECONDS
per process, however often Prometheus asks; and a database that is down or slow never fails the
scrape: the figures are left out and `backend_database_figures_up` says 0."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend.conversations.models import CHANNELS, Conversation
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder
from backend.verification.models import LOCK_SCOPES, VerificationFailure, VerificationLock

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 30.0
STATEMENT_TIMEOUT = "5s"  # PostgreSQL: a slow figure gives up long before Prometheus does
REMINDER_STATES = ("planned", "deferred", "sent", "dropped")

_OUTBOX_PENDING = text("outbound_messages.status = 'pending'")
_REMINDER_PLANNED = text("reminders.status = 'planned'")


@dataclass(frozen=True, slots=True)
class Figures:
    outbox_pending: dict[str, int]  # by channel
    outbox_oldest_seconds: dict[str, float]
    reminders_due: int
    reminders_oldest_due_seconds: float
    reminders_today: dict[str, int]  # by state
    reminders_held_today: dict[str, int]  # by the compliance rule that held them
    locks: dict[str, int]  # by scope: chat, phone, borrower
    failures_last_hour: int


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def read(session: Session, *, now: datetime, today: date) -> Figures:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
    outbox = session.execute(
        select(Conversation.channel, func.count(), func.min(OutboundMessage.created_at))
        .join(Conversation, OutboundMessage.conversation_id == Conversation.id)
        .where(_OUTBOX_PENDING)
        .group_by(Conversation.channel)
    ).all()
    due, oldest_due = session.execute(
        select(func.count(), func.min(Reminder.not_before)).where(
            _REMINDER_PLANNED, Reminder.not_before <= now
        )
    ).one()
    states: Counter[str] = Counter({s: 0 for s in REMINDER_STATES})
    held: Counter[str] = Counter()
    for status, reason, held_by, count in session.execute(
        select(Reminder.status, Reminder.reason, Reminder.held_by, func.count())
        .where(Reminder.occasion == today)
        .group_by(Reminder.status, Reminder.reason, Reminder.held_by)
    ):
        states["deferred" if status == "planned" and reason else status] += count
        if held_by:
            held[held_by] += count
    locks = {scope: 0 for scope in ("chat", *LOCK_SCOPES)}
    locks["chat"] = (
        session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.locked_until > now)
        )
        or 0
    )
    for scope, count in session.execute(
        select(VerificationLock.scope, func.count())
        .where(VerificationLock.cleared_at.is_(None), VerificationLock.locked_until > now)
        .group_by(VerificationLock.scope)
    ):
        locks[scope] = count
    failures = session.scalar(
        select(func.count())
        .select_from(VerificationFailure)
        .where(VerificationFailure.at > now - timedelta(hours=1))
    )
    return Figures(
        outbox_pending={c: 0 for c in CHANNELS} | {c: n for c, n, _ in outbox},
        outbox_oldest_seconds={c: 0.0 for c in CHANNELS} | {c: _age(now, t) for c, _, t in outbox},
        reminders_due=due or 0,
        reminders_oldest_due_seconds=_age(now, oldest_due),
        reminders_today=dict(states),
        reminders_held_today=dict(held),
        locks=locks,
        failures_last_hour=failures or 0,
    )


class DatabaseFigures(Collector):
    """The latest figures of one app, refreshed by its /metrics route (which has the session)
    and given to Prometheus from the app's own registry."""

    def __init__(self, max_age: float = MAX_AGE_SECONDS) -> None:
        self.max_age = max_age
        self.latest: Figures | None = None
        self.read_at = -math.inf
        self._lock = threading.Lock()

    def refresh(self, session: Session, *, now: datetime, today: date) -> None:
        with self._lock:  # two scrapes at once read the database once
            if time.monotonic() - self.read_at < self.max_age:
                return
            self.read_at = time.monotonic()
            try:
                self.latest = read(session, now=now, today=today)
            except SQLAlchemyError as exc:
                session.rollback()
                self.latest = None
                # The kind of failure only: the exception's text holds SQL.
                log.warning("metrics: database figures not read (%s)", type(exc).__name__)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "backend_database_figures_up",
            "1 when the figures from the database (outbox, reminders, verification) were read "
            "at the last refresh, 0 when the database could not be asked: they are missing then.",
        )
        up.add_metric([], 1.0 if self.latest is not None else 0.0)
        yield up
        if (f := self.latest) is not None:
            yield from _families(f)


def _gauge(name: str, doc: str, values: dict[str, float] | float, label: str = "") -> Metric:
    family = GaugeMetricFamily(name, doc, labels=[label] if label else None)
    if isinstance(values, dict):
        for key, value in sorted(values.items()):
            family.add_metric([key], float(value))
    else:
        family.add_metric([], float(values))
    return family


def _families(f: Figures) -> Iterator[Metric]:
    yield _gauge(
        "backend_outbox_pending_messages",
        "Outbound messages (collectors' replies, notices, reminders) waiting for a gateway.",
        dict(f.outbox_pending),
        "channel",
    )
    yield _gauge(
        "backend_outbox_oldest_pending_seconds",
        "How long the oldest pending outbound message has waited (0 when none waits).",
        dict(f.outbox_oldest_seconds),
        "channel",
    )
    yield _gauge(
        "backend_reminders_due",
        "Reminders planned and due now that the outreach worker has not decided yet.",
        f.reminders_due,
    )
    yield _gauge(
        "backend_reminders_oldest_due_seconds",
        "How long the oldest due, undecided reminder has waited (0 when none).",
        f.reminders_oldest_due_seconds,
    )
    yield _gauge(
        "backend_reminders_today",
        "Reminders for today's business date by state: planned, deferred (held back to a later "
        "time by a compliance rule), sent, dropped.",
        dict(f.reminders_today),
        "state",
    )
    yield _gauge(
        "backend_reminders_held_today",
        "Reminders for today's business date a compliance rule held back (deferred or dropped), "
        "by the first rule that did.",
        dict(f.reminders_held_today),
        "rule",
    )
    yield _gauge(
        "backend_verification_locks",
        "Verification locks in force: chats locked after failed attempts (chat), and phone "
        "verification locked for a phone number (phone) or a borrower (borrower).",
        dict(f.locks),
        "scope",
    )
    yield _gauge(
        "backend_verification_failures_last_hour",
        "Failed phone verifications in the last hour, every chat and channel together.",
        f.failures_last_hour,
    )
