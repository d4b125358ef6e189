"""`python -m backend models`: the console's models page as commands. `list` shows which
model runs and the retraining runs; `train` retrains in the foreground (the same run the
console starts in the background); `promote ID` and `restore` choose what Rasa runs."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine
from backend.errors import DomainError
from backend.tuning import retraining
from backend.tuning.models import TrainedModel
from backend.tuning.rasa_client import RasaTrainer

BY = "command line"


def run(args: argparse.Namespace, settings: Settings) -> None:
    factory = sessionmaker(make_engine(settings.database_url), expire_on_commit=False)
    try:
        if args.verb == "train":
            with factory() as session, session.begin():
                model_id = retraining.start(session, by=BY).id
            print(f"training run {model_id} on {settings.nlu_dir} through {settings.rasa_url}")
            retraining.run(
                factory,
                settings,
                model_id,
                trainer=RasaTrainer(settings.rasa_url, token=settings.rasa_token),
            )
        elif args.verb == "promote":
            with factory() as session, session.begin():
                retraining.promote(session, settings, model_id=args.model_id, by=BY)
            print(f"model {args.model_id} promoted: Rasa loads it at its next check")
        elif args.verb == "restore":
            with factory() as session, session.begin():
                deployed = retraining.restore(session, settings, by=BY)
            print(f"model {deployed.model_id} restored: Rasa loads it at its next check")
    except DomainError as exc:
        sys.exit(exc.message)
    with factory() as session, session.begin():
        _list(session, settings)


def _list(session: Session, settings: Settings) -> None:
    running = retraining.running_model(session, settings)
    print(f"running: {running.name if running else 'none'}")
    runs = session.scalars(
        select(TrainedModel).where(TrainedModel.source == "retrained").order_by(TrainedModel.id)
    )
    for model in runs:
        line = (
            f"{model.id:>4}  {model.name}  {model.stage} {model.progress}%  by {model.started_by}"
        )
        if model.error:
            line += f"  ({model.error})"
        print(line)
        compared = retraining.comparison(running, model) if model.stage == "ready" else None
        if compared is not None and running is not None and running.id != model.id:
            for language, figure, old, new in compared.totals:
                print(f"        {language} {figure}: running {old}  this {new}")
            print(
                "        not worse"
                if compared.not_worse
                else "        worse: " + "; ".join(compared.reasons)
            )
