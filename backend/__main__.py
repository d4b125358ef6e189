"""Command line of the backend: `python -m backend <command>` (see `--help`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date

from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.startup import refuse_demo_data, settings_or_exit


def _as_of(value: str | None) -> date:
    return date.fromisoformat(value) if value else get_settings().today()


def cmd_migrate(_: argparse.Namespace) -> None:
    from backend.migrate import upgrade

    upgrade(get_settings().database_url)
    print("database is at the latest migration")


def cmd_seed(_: argparse.Namespace) -> None:
    """Migrate, then the demo data into an empty database, all in one transaction: an
    interrupted seeding leaves the database empty, to be seeded again by the next run."""
    from backend.db import make_engine
    from backend.demo.seed import seed_demo
    from backend.demo.users import seed_demo_users

    settings = get_settings()
    if settings.app_env == "production":
        sys.exit(
            "production refuses seed-demo: demo borrowers and users are for development and "
            "demonstration databases (`migrate` alone makes the schema)"
        )
    cmd_migrate(_)
    with Session(make_engine(settings.database_url)) as session, session.begin():
        seeded = seed_demo(session, id_hash_key=settings.id_hash_key, today=settings.today())
        users = seed_demo_users(session)
        history = _seed_history(session) if seeded else None
    print("demo borrowers seeded" if seeded else "database not empty: demo data left as it is")
    if users:
        print("demo console users created (README: Collector console)")
    if history:
        print(history)
    if seeded:
        print(_seed_snapshots())


def _seed_snapshots() -> str:
    """A year of month-end portfolio snapshots and yesterday's: the Portfolio page's history."""
    from datetime import timedelta

    from backend.db import make_engine
    from backend.early_warning import service as early_warning
    from backend.early_warning.policy import load_monitoring_policy
    from backend.portfolio import snapshots

    settings = get_settings()
    zone = settings.business_timezone
    with Session(make_engine(settings.database_url)) as session:
        runs = snapshots.take_history(
            session,
            settings.today() - timedelta(days=1),
            months=DEMO_SNAPSHOT_MONTHS,
            timezone=zone,
        )
        policy = load_monitoring_policy(settings.config_dir)
        with session.begin():
            tally = early_warning.flag(session, runs[-1].as_of, policy, timezone=zone)
    return (
        f"portfolio snapshots: {len(runs)} days ({sum(r.seconds for r in runs):.1f} s); "
        f"early warning: {tally.flagged} loans flagged"
    )


DEMO_SNAPSHOT_MONTHS = 12


def _seed_history(session: Session) -> str:
    import time

    from backend.demo.history import seed_history

    settings = get_settings()
    started = time.monotonic()
    counts = seed_history(
        session,
        id_hash_key=settings.id_hash_key,
        today=settings.today(),
        config_dir=settings.config_dir,
        business_timezone=settings.business_timezone,
    )
    if counts is None:
        return "demo history already there: left as it is"
    return (
        f"demo history: {counts.borrowers} borrowers (HIST-...), {counts.loans} loans, "
        f"{counts.payments} payments, "
        f"{counts.promises} promises, {counts.conversations} chats, {counts.messages} messages, "
        f"{counts.handoffs} handoffs, {counts.reminders} reminders "
        f"({time.monotonic() - started:.1f} s)"
    )


def cmd_demo_history(_: argparse.Namespace) -> None:
    """About 90 days of past activity for a demo portfolio of its own (never in production)."""
    from backend.db import make_engine

    settings = get_settings()
    if settings.app_env == "production":
        sys.exit("demo history is for development and demonstration databases, not production")
    with Session(make_engine(settings.database_url)) as session, session.begin():
        print(_seed_history(session))


def cmd_create_user(args: argparse.Namespace) -> None:
    """Create a console user; the password comes from stdin (--password-stdin) or a prompt."""
    import getpass

    from backend.audit.service import Actor, audit
    from backend.db import make_engine
    from backend.errors import DomainError
    from backend.staff import service as staff

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            sys.exit("the passwords differ")
    settings = get_settings()
    try:
        with Session(make_engine(settings.database_url)) as session, session.begin():
            user = staff.create_user(
                session,
                username=args.username,
                display_name=args.name or args.username,
                role=args.role,
                language=args.language,
                password=password,
            )
            actor = Actor("cli", "python -m backend create-user")
            audit(session, actor, "create", borrower_id=None, subject=f"user {user.username}")
            created = f"user {user.username} ({user.role}) created"  # read before the commit
    except DomainError as exc:
        sys.exit(exc.message)
    print(created)


def cmd_deactivate_demo_users(_: argparse.Namespace) -> None:
    """Deactivate the demo console users that still have the README's password, the ones
    production refuses to start with (backend/demo/detection.py)."""
    from backend.audit.service import Actor, audit
    from backend.db import make_engine
    from backend.demo.detection import demo_usernames
    from backend.staff import service as staff
    from backend.types import utcnow

    with Session(make_engine(get_settings().database_url)) as session, session.begin():
        names = demo_usernames(session)
        actor = Actor("cli", "python -m backend deactivate-demo-users")
        for name in names:
            staff.update_user(
                session, user=staff.get_user(session, name), now=utcnow(), active=False
            )
            audit(session, actor, "update", borrower_id=None, subject=f"user {name} deactivated")
    print(f"deactivated: {', '.join(names)}" if names else "no demo console user is active")


# How long uvicorn keeps an idle connection (its default is 5 s; docker-compose.yml and the
# Dockerfile pass the same). Callers give one up sooner (nginx after 60 s, the services' own
# pools after 4 s): a connection closed just as a request comes in on it fails that request.
KEEP_ALIVE_SECONDS = 75


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    host, port = args.host or settings.backend_host, args.port or settings.backend_port
    print(f"backend and API docs: http://{host}:{port}/docs", flush=True)
    logging.getLogger("uvicorn.access").addFilter(_QuietPolling())
    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


class _QuietPolling(logging.Filter):
    """The gateway asks for outbound messages every second: log only when that goes wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) >= 5 and args[2] == "/api/v1/outbound/claim" and args[4] == 200)


def cmd_generate(args: argparse.Namespace) -> None:
    from backend.db import make_engine
    from backend.demo.generator import generate

    settings = get_settings()
    with Session(make_engine(settings.database_url), expire_on_commit=False) as session:
        result = generate(
            session,
            borrowers=args.borrowers,
            as_of=_as_of(args.as_of),
            id_hash_key=settings.id_hash_key,
            seed=args.seed,
        )
    print(
        f"generated {result.borrowers} borrowers, {result.loans} loans, "
        f"{result.installments} installments, {result.payments} payments"
    )


def cmd_balance(args: argparse.Namespace) -> None:
    from backend.db import make_engine
    from backend.errors import NotFound
    from backend.ledger import service
    from backend.ledger.schemas import BalancePublic

    with Session(make_engine(get_settings().database_url)) as session:
        try:
            loan = service.get_loan(session, args.loan_ref)
        except NotFound as exc:
            sys.exit(exc.message)
        st = service.loan_statement(session, loan, _as_of(args.as_of))
        print(
            json.dumps(
                BalancePublic.of(loan, st).model_dump(mode="json"), indent=2, ensure_ascii=False
            )
        )


def cmd_snapshot(args: argparse.Namespace) -> None:
    """The portfolio's daily snapshots, through a business date (yesterday: the last closed)."""
    from datetime import timedelta

    from backend.db import make_engine
    from backend.portfolio import snapshots

    settings = get_settings()
    through = _as_of(args.date) if args.date else settings.today() - timedelta(days=1)
    with Session(make_engine(settings.database_url)) as session:
        for run in snapshots.take_history(
            session, through, months=args.months, timezone=settings.business_timezone
        ):
            verb = "taken" if run.taken else "already taken"
            print(
                f"snapshot of {run.as_of} {verb}: {run.loans:,} loans by {run.method}, "
                f"{run.replayed:,} replayed, {run.checked:,} checked against the replay, "
                f"{run.mismatches} differing; {run.seconds:.1f} s"
            )


def cmd_warnings(args: argparse.Namespace) -> None:
    """Early warning for a snapshot day (the latest when left out), as the worker runs it."""
    from sqlalchemy import func, select

    from backend.db import make_engine
    from backend.early_warning import service as early_warning
    from backend.early_warning.policy import load_monitoring_policy
    from backend.policy_files import PolicyFileError
    from backend.portfolio.models import SnapshotRun

    settings = get_settings()
    try:
        policy = load_monitoring_policy(settings.config_dir)
    except PolicyFileError as exc:
        sys.exit(str(exc))
    with Session(make_engine(settings.database_url)) as session, session.begin():
        day = (
            _as_of(args.date) if args.date else session.scalar(select(func.max(SnapshotRun.as_of)))
        )
        if day is None or session.get(SnapshotRun, day) is None:
            sys.exit(
                f"no portfolio snapshot of {day or 'any day'}: run `python -m backend snapshot`"
            )
        tally = early_warning.flag(session, day, policy, timezone=settings.business_timezone)
    signals = ", ".join(f"{code} {n}" for code, n in tally.by_signal.most_common()) or "none"
    print(f"early warning for {day}: {tally.flagged} of {tally.checked} loans flagged ({signals})")


def cmd_risk(args: argparse.Namespace) -> None:
    """The risk and propensity scores: train (and score the latest day), list, card."""
    from sqlalchemy import func, select

    from backend.db import make_engine
    from backend.portfolio.models import SnapshotRun
    from backend.risk import scoring, train
    from backend.risk.models import RiskModel

    settings = get_settings()
    with Session(make_engine(settings.database_url)) as session, session.begin():
        if args.verb == "train":
            for kind in train.KINDS:
                try:
                    done = train.train(session, kind)
                except train.NotEnoughData as exc:
                    print(f"{kind}: not trained: {exc}")
                    continue
                print(train.summary(done))
            latest = session.scalar(select(func.max(SnapshotRun.as_of)))
            if latest is not None:
                print(f"scored {scoring.score_day(session, latest)} open loans of {latest}")
        elif args.verb == "list":
            for m in session.scalars(select(RiskModel).order_by(RiskModel.kind, RiskModel.version)):
                print(
                    f"{m.kind} v{m.version} {'IN USE' if m.active else '      '} tested on "
                    f"{m.tested_on}: AUC {train.fmt(m.metrics['model']['auc'])}, Brier "
                    f"{train.fmt(m.metrics['model']['brier'])}"
                )
        else:
            query = select(RiskModel).where(RiskModel.kind == args.kind)
            query = (
                query.where(RiskModel.version == args.version)
                if args.version
                else query.order_by(RiskModel.version.desc()).limit(1)
            )
            found = session.scalars(query).first()
            if found is None:
                sys.exit(f"no {args.kind} model{f' v{args.version}' if args.version else ''}")
            print(found.card, end="")


def cmd_link_token(args: argparse.Namespace) -> None:
    """Print a one-time link token alone on stdout (scripts read it)."""
    from datetime import timedelta

    from sqlalchemy import select

    from backend.audit.service import Actor, audit
    from backend.borrowers.models import Borrower
    from backend.db import make_engine
    from backend.types import utcnow
    from backend.verification.service import issue_link_token

    settings = get_settings()
    with Session(make_engine(settings.database_url)) as session, session.begin():
        borrower = session.scalar(select(Borrower).where(Borrower.ref == args.borrower_ref))
        if borrower is None:
            sys.exit(f"no borrower {args.borrower_ref!r}")
        token, _ = issue_link_token(
            session, borrower, now=utcnow(), ttl=timedelta(hours=settings.link_token_ttl_hours)
        )
        actor = Actor("cli", "python -m backend link-token")
        audit(session, actor, "create", borrower_id=borrower.id, subject="link token")
    print(token)


def cmd_evaluate_promises(args: argparse.Namespace) -> None:
    """The daily run: judge every open promise to pay as of the business date."""
    from backend.audit.service import Actor, audit
    from backend.db import make_engine
    from backend.policy_files import PolicyFileError
    from backend.promises import service as promises

    settings = get_settings()
    try:
        policy = promises.load_promise_policy(settings.config_dir)
    except PolicyFileError as exc:
        sys.exit(str(exc))
    as_of = _as_of(args.as_of)
    with Session(make_engine(settings.database_url)) as session, session.begin():
        tally = promises.evaluate_all(session, as_of=as_of, policy=policy)
        actor = Actor("cli", "python -m backend evaluate-promises")
        audit(
            session, actor, "update", borrower_id=None, subject=f"promises evaluated as of {as_of}"
        )
        flagged = [e.loan.ref for e in tally.escalations]
    print(
        f"promises evaluated as of {as_of}: {tally.kept} kept, {tally.partly_kept} partly kept, "
        f"{tally.broken} broken, {tally.still_open} still open; "
        f"loans flagged for a person: {', '.join(flagged) or 'none'}"
    )


def _outreach_setup() -> tuple[object, object]:
    """The database's sessions and the reminder policy in force: the shipped files with the
    versions approved in the console, followed while the worker runs."""
    from sqlalchemy.orm import sessionmaker

    from backend.db import make_engine
    from backend.policy_files import PolicyFileError
    from backend.policy_versions.running import RunningPolicies

    settings = get_settings()
    sessions = sessionmaker(make_engine(settings.database_url), expire_on_commit=False)
    try:
        running = RunningPolicies(
            settings.config_dir, settings, sessions, every=settings.policy_refresh_seconds
        )
    except PolicyFileError as exc:
        sys.exit(str(exc))
    running.refresh()
    return sessions, running


def _refuse_demo_data() -> None:
    from backend.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        refuse_demo_data(settings, engine)
    finally:
        engine.dispose()


def cmd_outreach(args: argparse.Namespace) -> None:
    """Reminders: the worker, one planning or sending run, a dry run, a preview, results."""
    from backend.outreach import cli

    if args.outreach_command == "worker":  # it writes to borrowers: never to demo ones
        _refuse_demo_data()
    sessions, running = _outreach_setup()
    cli.run(args, sessions, get_settings(), running)  # type: ignore[arg-type]


def cmd_compliance(args: argparse.Namespace) -> None:
    """The regulator's record of proactive messages, or the rules against random cases."""
    if args.compliance_command == "check":
        from backend.outreach.compliance_check import run

        tally, seconds = run(args.cases, seed=args.seed)
        print(
            f"{tally.cases} cases, {tally.decisions} decisions ({tally.sends} sent, "
            f"{tally.deferrals} deferred, {tally.drops} dropped) in {seconds:.1f} s: "
            f"{len(tally.violations)} violations"
        )
        for violation in tally.violations[:20]:
            print(f"  {violation}")
        if tally.violations:
            sys.exit(1)
        return
    from backend.audit.service import Actor, audit
    from backend.db import make_engine
    from backend.outreach import compliance_report as report

    settings = get_settings()
    start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    if end < start:
        sys.exit("--to is before --from")
    with Session(make_engine(settings.database_url)) as session, session.begin():
        found = report.build(
            session,
            start=start,
            end=end,
            zone=settings.business_timezone,
            borrower_ref=args.borrower,
        )
        subject = f"compliance report {start}..{end}" + (
            f" of {args.borrower}" if args.borrower else ""
        )
        audit(
            session,
            Actor("cli", "python -m backend compliance report"),
            "read",
            borrower_id=None,
            subject=subject,
        )
    if args.csv:
        with open(args.csv, "w", encoding="utf-8", newline="") as out:
            out.write(report.to_csv(found))
    print(report.to_text(found))


def cmd_loans(args: argparse.Namespace) -> None:
    """The lender's data on a loan's contract: its jurisdiction (which compliance profile)."""
    from backend.audit.service import Actor, audit
    from backend.db import make_engine
    from backend.errors import DomainError
    from backend.ledger import service

    settings = get_settings()
    code = None if args.code.lower() == "none" else args.code.upper()
    try:
        with Session(make_engine(settings.database_url)) as session, session.begin():
            loan = service.get_loan(session, args.loan_ref)
            service.set_jurisdiction(loan, code)
            audit(
                session,
                Actor("cli", "python -m backend loans jurisdiction"),
                "update",
                borrower_id=loan.borrower_id,
                subject=f"loan {loan.ref} jurisdiction {code or 'none'}",
            )
    except DomainError as exc:
        sys.exit(exc.message)
    print(f"loan {args.loan_ref}: jurisdiction {code or 'none (read from the phone number)'}")


def cmd_dashboard(args: argparse.Namespace) -> None:
    """The dashboard's figures as text tables (the console's, without the console)."""
    from backend.analytics import cli

    cli.run(args, get_settings())


def cmd_versions(args: argparse.Namespace) -> None:
    from backend.db import make_engine
    from backend.errors import DomainError
    from backend.policy_versions import cli

    settings = get_settings()
    with Session(make_engine(settings.database_url)) as session, session.begin():
        try:
            if args.versions_command == "export":
                lines = cli.export(session, settings, args.folder)
            else:
                lines = cli.import_files(session, settings, args.folder, note=args.note, by=args.by)
        except DomainError as exc:
            session.rollback()
            sys.exit(f"nothing imported: {exc.message}")
    print("\n".join(lines))


def cmd_models(args: argparse.Namespace) -> None:
    """The assistant's models: which runs, retraining, promoting and restoring."""
    from backend.tuning import cli

    cli.run(args, get_settings())


def _add_models(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    models = sub.add_parser("models", help="the assistant's models: list, train, promote, restore")
    verbs = models.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="the running model and the retraining runs with their scores")
    verbs.add_parser("train", help="retrain on NLU_DIR through Rasa (RASA_URL), then score")
    promote = verbs.add_parser("promote", help="run a scored model that is not worse")
    promote.add_argument("model_id", type=int)
    verbs.add_parser("restore", help="run again the model that ran before the current one")
    models.set_defaults(func=cmd_models)

    from backend.policy_versions.cli import add_parser as versions_parser

    versions_parser(sub).set_defaults(func=cmd_versions)


def _add_dashboard(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dash = sub.add_parser("dashboard", help="the dashboard's figures for the last N days")
    dash.add_argument("--days", type=int, default=30, help="days up to --as-of (30)")
    dash.add_argument("--as-of", help="last business day YYYY-MM-DD; today when left out")
    dash.add_argument("--channel", choices=("telegram", "webchat", "whatsapp", "sms"))
    dash.add_argument("--language", choices=("zh", "en"))
    dash.set_defaults(func=cmd_dashboard)


def _add_demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub.add_parser(
        "seed-demo", help="migrate, then seed the demo data into an empty database"
    ).set_defaults(func=cmd_seed)
    sub.add_parser(
        "demo-history", help="add ~90 days of demo activity (HIST-... borrowers), once"
    ).set_defaults(func=cmd_demo_history)
    sub.add_parser(
        "deactivate-demo-users", help="deactivate demo console users with the README's password"
    ).set_defaults(func=cmd_deactivate_demo_users)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API and console (the database migrated)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    _add_demo(sub)

    user = sub.add_parser("create-user", help="create a console user (password prompted)")
    user.add_argument("username")
    user.add_argument(
        "--role", required=True, choices=("collector", "supervisor", "operations", "admin")
    )
    user.add_argument("--name", help="the name colleagues and borrowers see")
    user.add_argument("--language", choices=("en", "zh"), default="en", help="console language")
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user.set_defaults(func=cmd_create_user)

    reach = sub.add_parser(
        "outreach", help="reminders: worker, plan, send, dry-run, preview, results"
    )
    reach_sub = reach.add_subparsers(dest="outreach_command", required=True)
    reach_sub.add_parser("worker", help="plan each day and send due reminders (APScheduler)")
    reach_sub.add_parser("plan", help="plan today's reminders once")
    reach_sub.add_parser("send", help="send the reminders due now once")
    dry = reach_sub.add_parser("dry-run", help="what would go out, and why the rest is held")
    dry.add_argument("--as-of", help="business date (YYYY-MM-DD); today when left out")
    dry.add_argument("--at", help="time of day HH:MM in the business time zone; now if left out")
    show = reach_sub.add_parser("preview", help="a step's message for a loan, as of a date")
    show.add_argument("loan_ref")
    show.add_argument("step_id")
    show.add_argument("--as-of", help="YYYY-MM-DD; today when left out")
    show.add_argument("--language", choices=("zh", "en"), help="the borrower's when left out")
    show.add_argument("--variant", help="champion/challenger arm; the borrower's own if left out")
    res = reach_sub.add_parser("results", help="champion/challenger results per step and variant")
    res.add_argument("--step", help="one step id")
    reach.set_defaults(func=cmd_outreach)

    gen = sub.add_parser("generate", help="add N random borrowers with loans and payments")
    gen.add_argument("--borrowers", type=int, required=True)
    gen.add_argument("--seed", type=int, default=0, help="random seed (same seed, same portfolio)")
    gen.add_argument("--as-of", help="business date the histories run up to (YYYY-MM-DD)")
    gen.set_defaults(func=cmd_generate)

    bal = sub.add_parser("balance", help="print a loan's balance as of a date")
    bal.add_argument("loan_ref")
    bal.add_argument("--as-of", help="YYYY-MM-DD; today when left out")
    bal.set_defaults(func=cmd_balance)

    tok = sub.add_parser("link-token", help="print a one-time token: /start <token> links a chat")
    tok.add_argument("borrower_ref")
    tok.set_defaults(func=cmd_link_token)

    _add_daily_runs(sub)
    _add_dashboard(sub)
    _add_models(sub)
    _add_compliance(sub)
    return parser


def _add_daily_runs(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    snap = sub.add_parser(
        "snapshot", help="the portfolio's daily snapshot of every loan (the worker's nightly run)"
    )
    snap.add_argument(
        "--date",
        help="YYYY-MM-DD: every day since the last snapshot through this one; "
        "yesterday when left out",
    )
    snap.add_argument(
        "--months",
        type=int,
        default=0,
        help="first the month-ends of the N months before (history for the Portfolio page)",
    )
    snap.set_defaults(func=cmd_snapshot)

    warn = sub.add_parser("warnings", help="flag a snapshot day's loans at risk (early warning)")
    warn.add_argument("--date", help="YYYY-MM-DD snapshot day; the latest when left out")
    warn.set_defaults(func=cmd_warnings)

    risk = sub.add_parser("risk", help="risk and propensity scores: train, list, card")
    risk_verbs = risk.add_subparsers(dest="verb", required=True)
    risk_verbs.add_parser("train", help="train both scores on the snapshots, then score the day")
    risk_verbs.add_parser("list", help="every trained version, its test scores, the one in use")
    show = risk_verbs.add_parser("card", help="a version's model card (Markdown)")
    show.add_argument("kind", choices=("roll_30", "pay_7"))
    show.add_argument("--version", type=int, help="the latest when left out")
    risk.set_defaults(func=cmd_risk)

    ptp = sub.add_parser("evaluate-promises", help="judge open promises to pay (the daily run)")
    ptp.add_argument("--as-of", help="YYYY-MM-DD business date; today when left out")
    ptp.set_defaults(func=cmd_evaluate_promises)


def _add_compliance(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    comp = sub.add_parser(
        "compliance", help="report (every decision on a reminder), check (the rules, at random)"
    )
    verbs = comp.add_subparsers(dest="compliance_command", required=True)
    rep = verbs.add_parser("report", help="every decision on a proactive message, and opt-outs")
    rep.add_argument("--from", dest="start", required=True, help="first business day YYYY-MM-DD")
    rep.add_argument("--to", dest="end", required=True, help="last business day YYYY-MM-DD")
    rep.add_argument("--borrower", help="one borrower's reference")
    rep.add_argument("--csv", help="also write every row to this CSV file")
    chk = verbs.add_parser(
        "check", help="the reminder rules against random cases (make compliance-check)"
    )
    chk.add_argument("--cases", type=int, default=100_000)
    chk.add_argument("--seed", type=int, default=0)
    comp.set_defaults(func=cmd_compliance)
    loans = sub.add_parser("loans", help="jurisdiction: set the one a loan's contract is under")
    verbs = loans.add_subparsers(dest="loans_command", required=True)
    jur = verbs.add_parser("jurisdiction", help="set the jurisdiction a loan's contract is under")
    jur.add_argument("loan_ref")
    jur.add_argument("code", help="two letters (ID, PH, GB); none: read it from the phone number")
    loans.set_defaults(func=cmd_loans)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings_or_exit()  # unsafe settings: one line each, no traceback
    import backend.models  # noqa: F401  (every table mapped before any query)

    if args.command not in MIGRATES_ITSELF and not _needs_no_database(args):
        _require_current_schema()
    args.func(args)


# Every other command needs the schema at the latest migration and says so in one line.
MIGRATES_ITSELF = {"migrate", "seed-demo"}


def _needs_no_database(args: argparse.Namespace) -> bool:
    return bool(args.command == "compliance" and args.compliance_command == "check")


def _require_current_schema() -> None:
    from backend.migrate import SchemaNotCurrent, require_current_schema

    try:
        require_current_schema(get_settings().database_url)
    except SchemaNotCurrent as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
