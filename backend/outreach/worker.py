"""The outreach worker (`python -m backend outreach worker`): one process that plans the day's
reminders each morning and sends due ones every minute, on APScheduler. Planning is
idempotent and each reminder is claimed by one dispatcher, so a restart (which plans again at
once) or a second worker never sends anything twice."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.monitoring import logs
from backend.outreach import planner, service
from backend.outreach.setup import OutreachConfig
from backend.types import utcnow

log = logging.getLogger("backend.outreach")


def plan_today(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig,
    now: datetime | None = None,
) -> planner.PlanTally:
    with sessions.begin() as session:
        tally = planner.plan(
            session, today=settings.today(), now=now or utcnow(), policy=config.policy
        )
    log.info(
        "planned %s new reminders (%s due today, %s candidate loans)",
        tally.planned,
        tally.due,
        tally.candidates,
    )
    return tally


def send_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig,
    now: datetime | None = None,
) -> service.DispatchTally:
    """Decide every reminder due now, a batch per transaction."""
    total = service.DispatchTally()
    while True:
        with sessions.begin() as session:
            batch = service.dispatch(
                session, today=settings.today(), now=now or utcnow(), config=config
            )
        total.outcomes.extend(batch.outcomes)
        if len(batch.outcomes) < service.BATCH:
            break
    if total.outcomes:
        log.info(
            "reminders: %s sent, %s deferred, %s dropped",
            total.count("send"),
            total.count("defer"),
            total.count("drop"),
        )
    return total


def scheduler(
    sessions: sessionmaker[Session], settings: Settings, config: OutreachConfig
) -> BlockingScheduler:
    jobs = BlockingScheduler(timezone=settings.business_timezone)
    plan_at = settings.outreach_plan_at
    jobs.add_job(
        plan_today,
        CronTrigger(hour=plan_at.hour, minute=plan_at.minute),
        args=(sessions, settings, config),
        id="plan",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    jobs.add_job(
        send_due,
        IntervalTrigger(seconds=settings.outreach_dispatch_seconds),
        args=(sessions, settings, config),
        id="dispatch",
        coalesce=True,
        max_instances=1,
    )
    return jobs


def run(sessions: sessionmaker[Session], settings: Settings, config: OutreachConfig) -> None:
    logs.configure(
        as_json=logs.wants_json(settings.log_format, settings.app_env),
        text_format="%(asctime)s %(name)s %(message)s",
    )
    plan_today(sessions, settings, config)  # what a stop overnight missed
    send_due(sessions, settings, config)
    scheduler(sessions, settings, config).start()
