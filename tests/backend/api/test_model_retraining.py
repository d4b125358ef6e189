"""Retraining runs on a database that really commits (the run works in its own sessions, as
in its background thread): training, keeping and scoring a model, failures, one run at a
time, and promoting or restoring which model Rasa runs."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.errors import Invalid
from backend.tuning import retraining
from backend.tuning.models import ModelDeployment, TrainedModel
from backend.tuning.rasa_client import RasaTrainer
from backend.types import utcnow
from tests.backend.fake_rasa import FakeTrainer, evaluation, tuned_settings


@pytest.fixture
def tuned(tmp_path: Path, settings: Settings) -> Settings:
    return tuned_settings(tmp_path, settings, model_server_url="http://backend.internal:8000")


@pytest.fixture
def factory(committing_engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield sessionmaker(committing_engine, expire_on_commit=False)
    with Session(committing_engine) as session, session.begin():
        session.execute(delete(ModelDeployment))
        session.execute(delete(TrainedModel))


def started(factory: sessionmaker[Session], by: str = "olga") -> int:
    with factory() as session, session.begin():
        return retraining.start(session, by=by).id


def run(factory: sessionmaker[Session], settings: Settings, trainer: FakeTrainer) -> TrainedModel:
    model_id = started(factory)
    retraining.run(factory, settings, model_id, trainer=cast(RasaTrainer, trainer))
    with factory() as session:
        model = session.get(TrainedModel, model_id)
        assert model is not None
        return model


def by_model(candidate: float, base: float = 0.95, **kwargs: Any) -> FakeTrainer:
    """Scores per model: the base model at `base`, any retrained one at `candidate`."""
    return FakeTrainer(
        lambda name: (
            evaluation(base) if name.startswith("assistant-") else evaluation(candidate, **kwargs)
        )
    )


def test_a_run_trains_keeps_and_scores_the_new_and_the_running_model(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    trainer = by_model(0.97)
    model = run(factory, tuned, trainer)
    assert (model.stage, model.progress, model.error) == ("ready", 100, "")
    assert model.examples > 3000 and model.finished_at is not None
    assert (tuned.nlu_models_dir / model.name).read_bytes() == b"a trained model"
    assert not list(tuned.nlu_models_dir.glob(".*partial")), "no half-written file is left"
    # the running (base) model is scored once, then the new one, in each test language
    base_url = "http://backend.internal:8000/api/v1/nlu/models/assistant-base.tar.gz"
    new_url = f"http://backend.internal:8000/api/v1/nlu/models/{model.name}"
    assert trainer.evaluated == [base_url, base_url, new_url, new_url]
    assert model.scores is not None and set(model.scores) == {"en", "zh"}
    assert model.scores["zh"]["macro_f1"] == 0.97
    with factory() as session:
        base = retraining.running_model(session, tuned)
        assert base is not None and base.source == "base" and base.scores is not None
        assert base.scores["en"]["macro_f1"] == 0.95
        # nothing changes for borrowers until someone promotes it
        assert base.name == "assistant-base.tar.gz"


def test_the_model_rasa_already_runs_is_scored_without_loading_it_again(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    trainer = by_model(0.97)
    trainer.loaded = "assistant-base.tar.gz"
    model = run(factory, tuned, trainer)
    new_url = f"http://backend.internal:8000/api/v1/nlu/models/{model.name}"
    assert trainer.evaluated == [None, None, new_url, new_url]
    with factory() as session:
        base = retraining.running_model(session, tuned)
        assert base is not None and base.scores is not None
        assert base.scores["zh"]["macro_f1"] == 0.95


def test_a_swap_during_a_scoring_of_the_loaded_model_is_scored_again_by_its_url(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    class SwappedMidway(FakeTrainer):
        def evaluate(self, test_yaml: str, model_url: str | None) -> dict[str, Any]:
            result = super().evaluate(test_yaml, model_url)
            self.loaded = "promoted-elsewhere.tar.gz"  # another replica promoted a model
            return result

    trainer = SwappedMidway(by_model(0.97).report, loaded="assistant-base.tar.gz")
    model = run(factory, tuned, trainer)
    base_url = "http://backend.internal:8000/api/v1/nlu/models/assistant-base.tar.gz"
    new_url = f"http://backend.internal:8000/api/v1/nlu/models/{model.name}"
    # the first scoring cannot be trusted to be the base model's: done again by URL
    assert trainer.evaluated == [None, base_url, base_url, new_url, new_url]


def test_the_training_document_carries_the_labelled_examples(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    (tuned.nlu_dir / "data" / "nlu" / "labelled.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: already_paid\n  examples: |\n    - 昨天就转过去了呀\n',
        encoding="utf-8",
    )
    trainer = by_model(0.96)
    run(factory, tuned, trainer)
    assert "昨天就转过去了呀" in trainer.documents[0]


def test_a_failed_training_is_recorded_with_its_reason(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    model = run(factory, tuned, FakeTrainer(fail="Rasa answered 500: out of memory"))
    assert model.stage == "failed" and "out of memory" in model.error
    assert not tuned.nlu_models_dir.exists() or not list(tuned.nlu_models_dir.iterdir())
    # a failed run does not block the next one
    assert started(factory) != model.id


def test_one_run_at_a_time_and_a_run_that_stopped_answering_is_replaced(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    first = started(factory)
    with factory() as session, pytest.raises(Invalid) as refused:
        retraining.start(session, by="ann")
    assert refused.value.code == "training_running"
    with factory() as session, session.begin():
        row = session.get(TrainedModel, first)
        assert row is not None
        row.heartbeat_at = utcnow() - timedelta(minutes=4)  # its process died
    second = started(factory)
    with factory() as session:
        old = session.get(TrainedModel, first)
        assert old is not None and old.stage == "failed" and "interrupted" in old.error
        assert second != first


def test_promote_a_better_model_then_restore_the_previous_one(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    model = run(factory, tuned, by_model(0.97))
    with factory() as session, session.begin():
        retraining.promote(session, tuned, model_id=model.id, by="olga")
    with factory() as session:
        running = retraining.running_model(session, tuned)
        assert running is not None and running.id == model.id
        assert (
            retraining.model_file(session, tuned, model.name) == tuned.nlu_models_dir / model.name
        )
        with pytest.raises(Invalid) as again:
            retraining.promote(session, tuned, model_id=model.id, by="olga")
        assert again.value.code == "already_running"
    with factory() as session, session.begin():
        retraining.restore(session, tuned, by="olga")
    with factory() as session:
        running = retraining.running_model(session, tuned)
        assert running is not None and running.name == "assistant-base.tar.gz"
        assert [(d.action, m.name) for d, m in retraining.deployments(session)] == [
            ("restore", "assistant-base.tar.gz"),
            ("promote", model.name),
        ]


def test_a_worse_model_is_not_promoted(factory: sessionmaker[Session], tuned: Settings) -> None:
    # one intent falls from 0.95 to 0.70 while the average barely moves
    model = run(factory, tuned, by_model(0.95, greet=0.70))
    with factory() as session, pytest.raises(Invalid) as refused:
        retraining.promote(session, tuned, model_id=model.id, by="olga")
    assert refused.value.code == "worse" and "greet F1 0.700 against 0.950" in refused.value.message


def test_nothing_to_restore_before_a_promotion(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    with factory() as session, pytest.raises(Invalid) as refused:
        retraining.restore(session, tuned, by="olga")
    assert refused.value.code == "no_previous"


def test_only_models_on_record_are_served_by_name(
    factory: sessionmaker[Session], tuned: Settings
) -> None:
    (tuned.nlu_models_dir).mkdir()
    (tuned.nlu_models_dir / "stray.tar.gz").write_bytes(b"x")
    with factory() as session:
        assert retraining.running_model(session, tuned) is not None  # registers the base
        assert retraining.model_file(session, tuned, "stray.tar.gz") is None
        assert retraining.model_file(session, tuned, "../built/assistant-base.tar.gz") is None
        assert (
            retraining.model_file(session, tuned, "assistant-base.tar.gz") == tuned.nlu_base_model
        )


def test_the_models_command_trains_promotes_and_restores(
    tmp_path: Path,
    tuned: Settings,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from backend.tuning import cli

    database = tmp_path / "cli.db"
    shutil.copy(sqlite_template, database)
    settings = tuned.model_copy(update={"database_url": f"sqlite:///{database}"})
    monkeypatch.setattr(cli, "RasaTrainer", lambda url, **_: by_model(0.97))

    cli.run(argparse.Namespace(verb="train"), settings)
    listed = capsys.readouterr().out
    assert "running: assistant-base.tar.gz" in listed
    assert re.search(r"^\s+1  retrained-\S+  ready 100%  by command line$", listed, re.M)
    assert "zh macro_f1: running 0.95  this 0.97" in listed and "not worse" in listed

    cli.run(argparse.Namespace(verb="promote", model_id=1), settings)
    assert "model 1 promoted" in capsys.readouterr().out
    cli.run(argparse.Namespace(verb="restore"), settings)
    assert "running: assistant-base.tar.gz" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no ready model 99"):
        cli.run(argparse.Namespace(verb="promote", model_id=99), settings)
