"""`python -m backend outreach ...`: the worker, single runs, a dry run, previews, results."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.ledger.repository import loan_by_ref
from backend.outreach import planner, service, worker
from backend.outreach.preview import StepPreview, next_firing, position, step_preview
from backend.outreach.results import variant_results
from backend.outreach.setup import OutreachConfig
from backend.policy_versions.running import RunningPolicies
from backend.types import utcnow

# How far `preview` looks for the next day a step fires: past the longest overdue step and a
# monthly installment.
LOOK_AHEAD_DAYS = 62


def run(
    args: argparse.Namespace,
    sessions: sessionmaker[Session],
    settings: Settings,
    running: RunningPolicies,
) -> None:
    command = args.outreach_command
    config = running.policies.outreach
    if command == "worker":
        worker.run(sessions, settings, running.outreach)
    elif command == "plan":
        tally = worker.plan_today(sessions, settings, config)
        print(f"{tally.planned} new reminders planned ({tally.due} due today)")
    elif command == "send":
        sent = worker.send_due(sessions, settings, config)
        print(
            f"{sent.count('send')} sent, {sent.count('defer')} deferred, "
            f"{sent.count('drop')} dropped"
        )
    elif command == "dry-run":
        dry_run(sessions, settings, config, as_of=args.as_of, at=args.at)
    elif command == "preview":
        preview(sessions, settings, config, args)
    elif command == "results":
        results(sessions, settings, config, step_id=args.step)


def dry_run(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig,
    *,
    as_of: str | None,
    at: str | None,
) -> None:
    """Plan and decide as the worker would at that moment, print it, and keep nothing."""
    zone = ZoneInfo(settings.business_timezone)
    today = date.fromisoformat(as_of) if as_of else settings.today()
    clock = time.fromisoformat(at) if at else datetime.now(zone).time()
    now = datetime.combine(today, clock, zone).astimezone(UTC)
    with sessions() as session:
        session.begin()
        try:
            planner.plan(session, today=today, now=now, policy=config.policy)
            tally = service.dispatch(session, today=today, now=now, config=config, limit=10**9)
        finally:
            session.rollback()
    print(
        f"as of {today} {clock:%H:%M} ({settings.business_timezone}): "
        f"{tally.count('send')} would be sent, {tally.count('defer')} held until later, "
        f"{tally.count('drop')} dropped; nothing was written"
    )
    for o in sorted(tally.outcomes, key=lambda o: ("send", "defer", "drop").index(o.action)):
        head = f"{o.action.upper():5} {o.loan_ref:14} {o.step_id:20} {o.variant:11}"
        if o.action == "send":
            first = o.text.splitlines()[0] if o.text else ""
            print(f"{head} via {o.channel}: {first}")
        elif o.action == "defer":
            assert o.not_before is not None
            until = o.not_before.astimezone(zone)
            print(f"{head} {o.reason} until {until:%Y-%m-%d %H:%M}")
        else:
            print(f"{head} {o.reason}")


def preview(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig,
    args: argparse.Namespace,
) -> None:
    """The step's message for this loan with its figures as of the date, without sending.
    Without --as-of, a step that does not fire today is shown as of the next day it would
    (loans move day by day, so "today" is rarely a step's day)."""
    as_of = date.fromisoformat(args.as_of) if args.as_of else settings.today()
    with sessions() as session:
        loan = loan_by_ref(session, args.loan_ref)
        if loan is None:
            sys.exit(f"no loan {args.loan_ref!r}")
        try:
            step = config.policy.step(args.step_id)
        except KeyError:
            sys.exit(f"no step {args.step_id!r} in outreach.yml")
        variant = None
        if args.variant:
            named = {v.name: v for v in step.all_variants}
            if args.variant not in named:
                sys.exit(f"step {step.id} has no variant {args.variant!r}")
            variant = named[args.variant]

        channel = service.channel_now(session, config, loan, now=utcnow()).channel

        def shown_on(day: date) -> StepPreview:
            return step_preview(
                config,
                loan=loan,
                step=step,
                at=position(session, loan, day),
                language=args.language or loan.borrower.language,
                variant=variant,
                channel=channel,
            )

        shown, when = shown_on(as_of), f"fires on {as_of}"
        if not shown.fires:
            later = next_firing(session, loan=loan, step=step, after=as_of, days=LOOK_AHEAD_DAYS)
            when = f"does not fire on {as_of}"
            if later is not None and args.as_of:
                when += f" (next on {later} if nothing changes before)"
            elif later is not None:
                shown = shown_on(later)
                when += f"; shown as of {later}, when it fires if nothing changes before"
    v = shown.variant
    via = f"via {shown.channel}" if shown.channel else "no channel reaches the borrower"
    print(f"{loan.ref} {step.id} ({v.name}, template {v.template}): {when}; {via}")
    print(shown.text)


def results(
    sessions: sessionmaker[Session],
    settings: Settings,
    config: OutreachConfig,
    *,
    step_id: str | None,
) -> None:
    days = config.policy.results_days
    with sessions() as session:
        found = variant_results(session, days=days, step_id=step_id)
    if not found:
        print("no reminders sent yet")
        return
    # In business time, as dry-run says it: operations read both side by side.
    now = utcnow().astimezone(ZoneInfo(settings.business_timezone))
    print(
        f"within {days} days of a reminder "
        f"(as of {now:%Y-%m-%d %H:%M} {settings.business_timezone}):"
    )
    for r in found:
        print(
            f"{r.step_id:20} {r.variant:11} sent {r.sent:6}  replied {r.rate(r.replied):6.1%}  "
            f"paid {r.rate(r.paid):6.1%}  promised {r.rate(r.promised):6.1%}"
        )
