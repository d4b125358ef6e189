"""What a backend process checks before it starts, so production never runs on an unsafe
configuration: the settings (config.py, config_rules.py) for every command, and no demo data
in the database for the processes that serve or write to borrowers (the app, the outreach
worker). Each problem is one line on stderr, and the process exits with status 1."""

from __future__ import annotations

import sys

from pydantic import ValidationError
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend.config import Settings, get_settings
from backend.config_rules import setting_problems


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        sys.exit("\n".join(setting_problems(exc.errors())))


def refuse_demo_data(settings: Settings, engine: Engine) -> None:
    """In production, exit when the database holds demo data (backend/demo/detection.py). A
    database without tables holds none: `migrate` makes them."""
    if settings.app_env != "production":
        return
    from backend.demo.detection import demo_data_problems

    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("borrowers"):
                return
        with Session(engine) as session:
            problems = demo_data_problems(session)
    except SQLAlchemyError as exc:
        problems = [f"cannot check the database for demo data: {str(exc).splitlines()[0]}"]
    if problems:
        sys.exit("\n".join(problems))
