"""The outreach worker (`python -m backend outreach worker`): one process that plans the day's
reminders each morning, sends due ones every minute, and takes the portfolio snapshot of each
business day once it has closed (`backend/portfolio`), on APScheduler. Planning is
idempotent and each reminder is claimed by one dispatcher, so a restart (which plans again at
once) or a second worker never sends anything twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend import idempotency
from backend.config import Settings
from backend.early_warning import service as early_warning
from backend.early_warning.policy import load_monitoring_policy
from backend.monitoring import logs
from backend.outreach import planner, service
from backend.outreach.setup import OutreachConfig
from backend.portfolio import snapshots
from backend.portfolio.models import SnapshotRun
from backend.risk import scoring, train
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


def snapshot_closed_days(
    sessions: sessionmaker[Session], settings: Settings, config: OutreachConfig
) -> None:
    """The portfolio snapshot of each business day closed since the last one, and its early
    warnings; the scores trained again when a month's outcome has come in (`RISK_RETRAIN`);
    the latest day's risk scores (with the scores in use); the steps that answer a warning
    planned for the loans flagged (the compliance rules decide them as any other reminder);
    then the daily snapshots past `SNAPSHOT_DAILY_DAYS` go, month ends stay, and the answers
    kept for writes sent again (idempotency.py) past their two days."""
    policy = load_monitoring_policy(settings.config_dir)  # tonight's file
    zone = settings.business_timezone
    flagged: set[int] = set()
    latest: date | None = None
    with sessions() as session:
        yesterday = settings.today() - timedelta(days=1)
        for run in snapshots.take_through(session, yesterday, timezone=zone):
            if not run.taken:
                continue
            log.info(
                "portfolio snapshot of %s: %s loans (%s), %s replayed, %s of %s checked "
                "differed, %.1f s",
                run.as_of,
                run.loans,
                run.method,
                run.replayed,
                run.mismatches,
                run.checked,
                run.seconds,
            )
            with session.begin():
                tally = early_warning.flag(session, run.as_of, policy, timezone=zone)
            flagged |= tally.loan_ids
            log.info(
                "early warning for %s: %s of %s loans flagged (%s)",
                run.as_of,
                tally.flagged,
                tally.checked,
                ", ".join(f"{code} {n}" for code, n in tally.by_signal.most_common()) or "none",
            )
            latest = run.as_of
        if settings.risk_retrain:
            with session.begin():
                if retrain(session) and latest is None:  # a new version: score the last day
                    latest = session.scalar(select(func.max(SnapshotRun.as_of)))
        if latest is not None:
            with session.begin():
                scored = scoring.score_day(session, latest)
            if scored:
                log.info("risk scores of %s: %s open loans scored", latest, scored)
        with session.begin():
            snapshots.prune(session, settings.today(), keep_days=settings.snapshot_daily_days)
            idempotency.prune(session, utcnow())
    if flagged:
        with sessions.begin() as session:
            planner.plan(
                session, today=settings.today(), now=utcnow(), policy=config.policy, only=flagged
            )


def retrain(session: Session) -> bool:
    """Each score trained again once a new month's outcome is known (also what a stop, or a
    history loaded by hand, left untrained); a version that does not beat both baselines is
    kept for the record and not used. Whether a new version went into use; flushes, never
    commits."""
    used = False
    for kind in train.KINDS:
        if not train.due(session, kind):
            continue
        try:
            done = train.train(session, kind)
        except train.NotEnoughData as exc:
            log.info("risk score %s not trained: %s", kind, exc)
            continue
        log.info("risk score %s", train.summary(done))
        used |= done.used
    return used


def scheduler(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig | Callable[[], OutreachConfig],
) -> BlockingScheduler:
    """`config`: the reminder configuration, or what gives the one in force as each job starts
    (RunningPolicies.outreach: versions approved in the console, within seconds)."""
    current = config if callable(config) else (lambda: config)
    jobs = BlockingScheduler(timezone=settings.business_timezone)
    plan_at = settings.outreach_plan_at
    jobs.add_job(
        lambda: plan_today(sessions, settings, current()),
        CronTrigger(hour=plan_at.hour, minute=plan_at.minute),
        id="plan",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    jobs.add_job(
        lambda: send_due(sessions, settings, current()),
        IntervalTrigger(seconds=settings.outreach_dispatch_seconds),
        id="dispatch",
        coalesce=True,
        max_instances=1,
    )
    snap_at = settings.snapshot_at
    jobs.add_job(
        lambda: snapshot_closed_days(sessions, settings, current()),
        CronTrigger(hour=snap_at.hour, minute=snap_at.minute),
        id="snapshot",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=12 * 3600,
        # At start too, beside the other jobs: what a stop overnight missed.
        next_run_time=datetime.now(ZoneInfo(settings.business_timezone)),
    )
    return jobs


def run(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig | Callable[[], OutreachConfig],
) -> None:
    logs.configure(
        as_json=logs.wants_json(settings.log_format, settings.app_env),
        text_format="%(asctime)s %(name)s %(message)s",
    )
    load_monitoring_policy(settings.config_dir)  # a broken file stops the worker now
    current = config if callable(config) else (lambda: config)
    plan_today(sessions, settings, current())  # what a stop overnight missed
    send_due(sessions, settings, current())
    scheduler(sessions, settings, current).start()
