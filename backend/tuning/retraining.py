"""Retraining the assistant from its training data, as a background job, and choosing which
model Rasa runs.

A retraining run trains through Rasa's HTTP API, keeps the model file, and scores it and the
running model on the held-out test split. Nothing changes for borrowers until someone
promotes the new model, which is refused when it is worse (scoring.py). Rasa fetches the
promoted model from the backend (model_routes.py, Rasa's model server protocol) and swaps it
in while it keeps serving; restoring adds a deployment of the model that ran before."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.errors import Invalid, NotFound
from backend.tuning import scoring
from backend.tuning.models import ModelDeployment, TrainedModel
from backend.tuning.rasa_client import RasaError, RasaTrainer
from backend.tuning.training_payload import held_out_document, held_out_languages, training_document
from backend.types import utcnow

log = logging.getLogger(__name__)

ACTIVE = ("preparing", "training", "scoring")  # then ready or failed
STALE_AFTER = timedelta(minutes=3)  # no heartbeat this long: the process running it stopped
FIRST_ESTIMATE = timedelta(minutes=10)  # training time guessed before any run is on record
HEARTBEAT_SECONDS = 5.0
# Progress percentages: training is the long part and Rasa reports none of it, so it is
# estimated from the last run's duration and held below its end until the model arrives.
TRAINING_FROM, TRAINING_TO, SCORED = 5, 85, 100


# ---- which model runs -------------------------------------------------------------------


def base_model_file(settings: Settings) -> Path | None:
    """The model `make train` built: NLU_BASE_MODEL, else the newest under NLU_DIR/models."""
    if settings.nlu_base_model is not None:
        return settings.nlu_base_model if settings.nlu_base_model.exists() else None
    built = sorted((settings.nlu_dir / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return built[-1] if built else None


def base_model(session: Session, settings: Settings) -> TrainedModel | None:
    """The base model's record, added the first time it is asked for."""
    path = base_model_file(settings)
    if path is None:
        return None
    row = session.scalar(select(TrainedModel).where(TrainedModel.name == path.name))
    if row is None:
        try:
            with session.begin_nested():  # two replicas may ask at once: one row wins
                row = TrainedModel(
                    name=path.name,
                    source="base",
                    stage="ready",
                    progress=SCORED,
                    started_by="make train",
                )
                session.add(row)
        except IntegrityError:
            row = session.scalar(select(TrainedModel).where(TrainedModel.name == path.name))
    return row


def running_model(session: Session, settings: Settings) -> TrainedModel | None:
    """The model Rasa is to run: the newest deployment's, else the base model."""
    deployment = session.scalar(select(ModelDeployment).order_by(ModelDeployment.id.desc()))
    if deployment is not None:
        return session.get(TrainedModel, deployment.model_id)
    return base_model(session, settings)


def model_file(session: Session, settings: Settings, name: str) -> Path | None:
    """The file of a model on record by its name; None for any other name."""
    row = session.scalar(select(TrainedModel).where(TrainedModel.name == name))
    if row is None:
        return None
    if row.source == "base":
        path = base_model_file(settings)
        return path if path is not None and path.name == name else None
    path = settings.nlu_models_dir / name
    return path if path.is_file() else None


def deployments(session: Session, limit: int = 20) -> list[tuple[ModelDeployment, TrainedModel]]:
    rows = session.execute(
        select(ModelDeployment, TrainedModel)
        .join(TrainedModel, TrainedModel.id == ModelDeployment.model_id)
        .order_by(ModelDeployment.id.desc())
        .limit(limit)
    )
    return [(deployment, model) for deployment, model in rows]


def comparison(running: TrainedModel | None, candidate: TrainedModel) -> scoring.Comparison | None:
    if running is None or not running.scores or not candidate.scores:
        return None
    return scoring.compare(running.scores, candidate.scores)


def promote(session: Session, settings: Settings, *, model_id: int, by: str) -> ModelDeployment:
    """Make a scored model the one Rasa runs; refused when it is worse than the running one."""
    model = session.get(TrainedModel, model_id)
    if model is None or model.stage != "ready" or model_file(session, settings, model.name) is None:
        raise NotFound(f"no ready model {model_id}")
    running = running_model(session, settings)
    if running is not None and running.id == model.id:
        raise Invalid("this model is already the one running", code="already_running")
    compared = comparison(running, model)
    if compared is None:
        raise Invalid("the models have not both been scored", code="not_scored")
    if not compared.not_worse:
        raise Invalid("worse than the running model: " + "; ".join(compared.reasons), code="worse")
    return _deploy(session, model, "promote", by)


def restore(session: Session, settings: Settings, *, by: str) -> ModelDeployment:
    """Run again the model that ran before the current one."""
    history = deployments(session, limit=2)
    if not history:
        raise Invalid("no model was promoted, so there is none to go back to", code="no_previous")
    previous = history[1][1] if len(history) > 1 else base_model(session, settings)
    if previous is None or model_file(session, settings, previous.name) is None:
        raise Invalid("the previous model's file is gone", code="no_previous")
    return _deploy(session, previous, "restore", by)


def _deploy(session: Session, model: TrainedModel, action: str, by: str) -> ModelDeployment:
    row = ModelDeployment(model_id=model.id, action=action, by=by)
    session.add(row)
    session.flush()
    log.info("model %s: %s by %s", model.name, action, by)
    return row


# ---- a retraining run -------------------------------------------------------------------


def is_interrupted(model: TrainedModel, now: datetime | None = None) -> bool:
    return model.stage in ACTIVE and (now or utcnow()) - model.heartbeat_at > STALE_AFTER


def start(session: Session, *, by: str) -> TrainedModel:
    """Record a new run (the caller starts `run` once this is committed). One at a time."""
    for active in session.scalars(select(TrainedModel).where(TrainedModel.stage.in_(ACTIVE))):
        if not is_interrupted(active):
            raise Invalid("a retraining run is already going", code="training_running")
        active.stage, active.error = "failed", "interrupted: the process running it stopped"
    now = utcnow()
    row = TrainedModel(
        name=f"retrained-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.tar.gz",
        source="retrained",
        stage="preparing",
        progress=1,
        started_by=by,
        started_at=now,
        heartbeat_at=now,
    )
    session.add(row)
    session.flush()
    return row


def launch(factory: sessionmaker[Session], settings: Settings, model_id: int) -> threading.Thread:
    thread = threading.Thread(
        target=run,
        args=(factory, settings, model_id),
        kwargs={"trainer": RasaTrainer(settings.rasa_url, token=settings.rasa_token)},
        name=f"retrain-{model_id}",
        daemon=True,
    )
    thread.start()
    return thread


def run(
    factory: sessionmaker[Session], settings: Settings, model_id: int, *, trainer: RasaTrainer
) -> None:
    """Train, keep and score one model, recording each step; never raises."""
    try:
        _run(factory, settings, model_id, trainer)
    except Exception as exc:  # recorded on the run, for the page
        if not isinstance(exc, RasaError | ValueError | OSError):
            log.exception("retraining run %s failed", model_id)
        _update(factory, model_id, stage="failed", error=str(exc)[:2000], finished_at=utcnow())


def _run(
    factory: sessionmaker[Session], settings: Settings, model_id: int, trainer: RasaTrainer
) -> None:
    document, examples = training_document(settings.nlu_dir)
    estimate = _training_estimate(factory)
    began = utcnow()
    _update(factory, model_id, stage="training", progress=TRAINING_FROM, examples=examples)

    def training_progress() -> dict[str, Any]:
        share = min((utcnow() - began) / estimate, 0.99)
        return {"progress": TRAINING_FROM + int((TRAINING_TO - TRAINING_FROM) * share)}

    with _heartbeat(factory, model_id, training_progress):
        name, blob = trainer.train(document)
    with factory() as session:
        model = session.get(TrainedModel, model_id)
        assert model is not None
        kept_as = model.name
    stored = _keep(settings.nlu_models_dir, kept_as, blob)
    log.info("retraining run %s: Rasa's %s kept as %s", model_id, name, stored.name)
    _update(factory, model_id, stage="scoring", progress=TRAINING_TO)

    # the running model is scored again each time: the test split may have changed since
    with factory() as session, session.begin():
        running = running_model(session, settings)
        to_score = [(running.id, running.name)] if running is not None else []
    to_score.append((model_id, stored.name))
    languages = held_out_languages(settings.nlu_dir)
    steps, done = len(to_score) * len(languages), 0
    for scored_id, scored_name in to_score:
        scores: dict[str, Any] = {}
        for language in languages:
            with _heartbeat(factory, model_id, lambda: {}):
                evaluation = _evaluate(trainer, settings, scored_name, language)
            scores[language] = scoring.summarise(evaluation)
            done += 1
            _update(
                factory,
                model_id,
                progress=TRAINING_TO + (SCORED - TRAINING_TO) * done // (steps + 1),
            )
        _update(factory, scored_id, scores=scores)
    _update(factory, model_id, stage="ready", progress=SCORED, finished_at=utcnow())


def _evaluate(trainer: RasaTrainer, settings: Settings, name: str, language: str) -> dict[str, Any]:
    """Rasa's evaluation of the model `name` on the held-out split. The model Rasa already runs
    is scored as loaded (a load is most of a scoring), provided it still runs that model when
    the scoring ends; a promotion meanwhile means scoring it again by its URL."""
    document = held_out_document(settings.nlu_dir, language)
    if _loaded_model(trainer) == name:
        evaluation = trainer.evaluate(document, None)
        if _loaded_model(trainer) == name:
            return evaluation
    return trainer.evaluate(document, model_url(settings, name))


def _loaded_model(trainer: RasaTrainer) -> str | None:
    try:
        return trainer.running_model()
    except RasaError:
        return None  # then the model is fetched by its URL, as before


def model_url(settings: Settings, name: str) -> str:
    """Where Rasa fetches a model from the backend (model_routes.py)."""
    base = settings.model_server_url or f"http://{settings.backend_host}:{settings.backend_port}"
    return f"{base.rstrip('/')}/api/v1/nlu/models/{name}"


def _keep(folder: Path, name: str, blob: bytes) -> Path:
    """Written under a temporary name and renamed, so a half-written model is never served."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"
    partial.write_bytes(blob)
    path = folder / name
    partial.replace(path)
    return path


def _training_estimate(factory: sessionmaker[Session]) -> timedelta:
    with factory() as session:
        last = session.scalar(
            select(TrainedModel)
            .where(TrainedModel.source == "retrained", TrainedModel.stage == "ready")
            .order_by(TrainedModel.id.desc())
        )
        if last is None or last.finished_at is None:
            return FIRST_ESTIMATE
        # scoring took part of that run; training is most of it
        return max((last.finished_at - last.started_at) * 0.8, timedelta(minutes=1))


def _update(factory: sessionmaker[Session], model_id: int, **values: Any) -> None:
    with factory() as session, session.begin():
        model = session.get(TrainedModel, model_id)
        if model is None:
            return
        for key, value in values.items():
            setattr(model, key, value)
        model.heartbeat_at = utcnow()


class _heartbeat:
    """While a long Rasa call runs, record every few seconds that the run is alive (and its
    estimated progress), so the page moves and a dead process is told from a slow one."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        model_id: int,
        values: Callable[[], dict[str, Any]],
    ) -> None:
        self.factory, self.model_id, self.values = factory, model_id, values
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            try:
                _update(self.factory, self.model_id, **self.values())
            except Exception:  # a missed beat is harmless; the next one retries
                log.warning("retraining heartbeat failed", exc_info=True)

    def __enter__(self) -> None:
        self.thread.start()

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()
