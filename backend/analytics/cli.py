"""`python -m backend dashboard`: the dashboard's figures as text, for a period ending on a
business date, optionally for one channel or language."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from sqlalchemy.orm import Session

from backend.analytics.dashboard import build
from backend.analytics.figures import Scope
from backend.analytics.report import render
from backend.config import Settings
from backend.db import make_engine
from backend.outreach.setup import load_outreach_config
from backend.policy_files import PolicyFileError
from backend.tuning.service import fallback_threshold


def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.days < 1:
        sys.exit("--days must be at least 1")
    end = date.fromisoformat(args.as_of) if args.as_of else settings.today()
    scope = Scope(
        start=end - timedelta(days=args.days - 1),
        end=end,
        channel=args.channel,
        language=args.language,
        timezone=settings.business_timezone,
    )
    try:
        results_days = load_outreach_config(settings.config_dir).policy.results_days
    except PolicyFileError as exc:
        sys.exit(str(exc))
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            figures = build(
                session,
                scope,
                fallback_threshold=fallback_threshold(settings.nlu_dir),
                results_days=results_days,
            )
    finally:
        engine.dispose()
    print(render(figures), end="")
