"""Operations' models page and the backend as Rasa's model server: retraining started from
the console, the side-by-side comparison, promotion refused for a worse model, restoring,
who may do it, and what Rasa is served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import Settings
from backend.tuning import retraining, scoring
from backend.tuning.models import TrainedModel
from tests.backend.api.conftest import TOKEN
from tests.backend.api.console_client import Console, make_user
from tests.backend.apps import app_over
from tests.backend.fake_rasa import evaluation, tuned_settings


@pytest.fixture
def tuned(tmp_path: Path, settings: Settings) -> Settings:
    # nothing listens on port 9: Rasa "unreachable"
    return tuned_settings(tmp_path, settings, rasa_url="http://127.0.0.1:9")


@pytest.fixture
def app(db: Session, tuned: Settings) -> FastAPI:
    return app_over(db, tuned)


@pytest.fixture
def ops(app: FastAPI, db: Session) -> Console:
    make_user(db, "olga", "operations")
    console = Console(app)
    assert console.login("olga").status_code == 303
    console.get("/console/models")  # its forms' CSRF token
    return console


def scores(macro: float, **kwargs: Any) -> dict[str, Any]:
    return {lang: scoring.summarise(evaluation(macro, **kwargs)) for lang in ("en", "zh")}


def candidate(db: Session, tuned: Settings, macro: float, **kwargs: Any) -> TrainedModel:
    """A finished run, the base model scored at 0.95, this one at `macro`."""
    base = retraining.base_model(db, tuned)
    assert base is not None
    base.scores = scores(0.95)
    model = retraining.start(db, by="olga")
    model.stage, model.progress, model.examples = "ready", 100, 3400
    model.scores = scores(macro, **kwargs)
    tuned.nlu_models_dir.mkdir(exist_ok=True)
    (tuned.nlu_models_dir / model.name).write_bytes(b"a retrained model")
    db.commit()
    return model


def test_the_page_shows_the_running_model_and_that_rasa_was_not_reached(ops: Console) -> None:
    page = ops.get("/console/models")
    assert page.status_code == 200
    assert "assistant-base.tar.gz" in page.text and "built by make train" in page.text
    assert "Rasa could not be asked" in page.text
    assert "No retraining yet." in page.text and 'http-equiv="refresh"' not in page.text


def test_retraining_starts_in_the_background_and_the_page_follows_it(
    ops: Console, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched: list[int] = []
    monkeypatch.setattr(
        retraining, "launch", lambda factory, settings, model_id: launched.append(model_id)
    )
    response = ops.post("/console/models/train")
    assert (
        response.status_code == 303 and response.headers["location"] == "/console/models?done=train"
    )
    [run] = db.scalars(select(TrainedModel).where(TrainedModel.source == "retrained"))
    assert launched == [run.id] and run.started_by == "olga"
    page = ops.get("/console/models")
    assert (
        "Preparing the training data" in page.text and '<progress max="100" value="1"' in page.text
    )
    assert 'http-equiv="refresh" content="5; url=/console/models"' in page.text
    # a second run while this one goes is refused
    again = ops.post("/console/models/train")
    assert again.status_code == 422 and "already going" in again.text
    assert db.scalar(select(AuditEntry).where(AuditEntry.subject == "model retraining")) is not None


def test_a_better_model_is_compared_side_by_side_and_promoted(
    ops: Console, db: Session, tuned: Settings
) -> None:
    model = candidate(db, tuned, 0.97)
    page = ops.get("/console/models")
    assert 'data-verdict="not-worse"' in page.text
    assert "<td>0.950</td><td>0.970</td>" in page.text  # macro-F1, running then new
    assert "<td>+0.020</td>" in page.text  # an intent's change
    response = ops.post(f"/console/models/{model.id}/promote")
    assert response.status_code == 303
    running = retraining.running_model(db, tuned)
    assert running is not None and running.id == model.id
    page = ops.get("/console/models?done=promote")
    assert "promoted" in page.text and "Restore the previous model" in page.text
    assert ops.post("/console/models/restore").status_code == 303
    running = retraining.running_model(db, tuned)
    assert running is not None and running.name == "assistant-base.tar.gz"


def test_a_worse_model_cannot_be_promoted(ops: Console, db: Session, tuned: Settings) -> None:
    model = candidate(db, tuned, 0.95, greet=0.6)
    page = ops.get("/console/models")
    assert 'data-verdict="worse"' in page.text and "greet F1 0.600 against 0.950" in page.text
    assert "disabled>Promote to running" in page.text
    refused = ops.post(f"/console/models/{model.id}/promote")
    assert refused.status_code == 422 and "worse than the running model" in refused.text
    running = retraining.running_model(db, tuned)
    assert running is not None and running.source == "base"


def test_collectors_may_not_retrain_or_promote(app: FastAPI, db: Session, tuned: Settings) -> None:
    model = candidate(db, tuned, 0.97)
    make_user(db, "carl", "collector")
    console = Console(app)
    console.login("carl")
    console.get("/console/inbox")
    assert console.get("/console/models").status_code == 403
    assert console.post("/console/models/train").status_code == 403
    assert console.post(f"/console/models/{model.id}/promote").status_code == 403
    assert console.post("/console/models/restore").status_code == 403


def test_rasa_is_served_the_running_model_and_told_when_it_is_unchanged(
    app: FastAPI, db: Session, tuned: Settings
) -> None:
    with TestClient(app) as anonymous:
        assert anonymous.get("/api/v1/nlu/model").status_code == 401
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as rasa:
        served = rasa.get("/api/v1/nlu/model")
        assert served.status_code == 200 and served.content == b"the base model"
        assert served.headers["etag"] == served.headers["filename"] == "assistant-base.tar.gz"
        unchanged = rasa.get(
            "/api/v1/nlu/model", headers={"If-None-Match": "assistant-base.tar.gz"}
        )
        assert unchanged.status_code == 304
        model = candidate(db, tuned, 0.97)
        assert rasa.get(f"/api/v1/nlu/models/{model.name}").content == b"a retrained model"
        retraining.promote(db, tuned, model_id=model.id, by="olga")
        db.commit()
        swapped = rasa.get("/api/v1/nlu/model", headers={"If-None-Match": "assistant-base.tar.gz"})
        assert swapped.status_code == 200 and swapped.headers["etag"] == model.name
        assert rasa.get("/api/v1/nlu/models/other.tar.gz").status_code == 404
        assert rasa.get("/api/v1/nlu/models/..%2Fbuilt%2Fassistant-base.tar.gz").status_code == 404
