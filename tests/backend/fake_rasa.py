"""A stand-in for Rasa's training and evaluation API in the backend's tests: it returns a
model file and, per model, the evaluation report a test chose."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.config import ROOT, Settings
from backend.tuning.rasa_client import RasaError


def tuned_settings(tmp_path: Path, settings: Settings, **more: Any) -> Settings:
    """A copy of the assistant's NLU project, a base model file and a models folder."""
    nlu = tmp_path / "nlu"
    for part in ("domain", "data", "tests"):
        shutil.copytree(ROOT / "nlu" / part, nlu / part)
    shutil.copy(ROOT / "nlu" / "config.yml", nlu / "config.yml")
    base = tmp_path / "built" / "assistant-base.tar.gz"
    base.parent.mkdir()
    base.write_bytes(b"the base model")
    return settings.model_copy(
        update={
            "nlu_dir": nlu,
            "nlu_base_model": base,
            "nlu_models_dir": tmp_path / "models",
            **more,
        }
    )


def evaluation(macro: float, entity: float = 0.95, greet: float | None = None) -> dict[str, Any]:
    """Rasa's /model/test/intents answer, trimmed to what the backend reads."""
    report: dict[str, Any] = {
        "greet": {"f1-score": macro if greet is None else greet, "support": 12},
        "check_balance": {"f1-score": macro, "support": 20},
        "accuracy": macro,
        "macro avg": {"f1-score": macro, "support": 32},
        "weighted avg": {"f1-score": macro, "support": 32},
    }
    return {
        "intent_evaluation": {"report": report},
        "entity_evaluation": {"DIETClassifier": {"report": {"micro avg": {"f1-score": entity}}}},
    }


class FakeTrainer:
    def __init__(
        self,
        report: Callable[[str], dict[str, Any]] = lambda name: evaluation(0.95),
        *,
        fail: str | None = None,
        model_bytes: bytes = b"a trained model",
        loaded: str | None = None,
    ) -> None:
        self.report, self.fail, self.model_bytes = report, fail, model_bytes
        self.loaded = loaded  # the model file this fake Rasa has loaded, as /status says
        self.documents: list[str] = []
        self.evaluated: list[str | None] = []  # the model URLs (None: the loaded one), in order

    def train(self, document: str) -> tuple[str, bytes]:
        self.documents.append(document)
        if self.fail:
            raise RasaError(self.fail)
        return "20261129-093000-fake.tar.gz", self.model_bytes

    def evaluate(self, test_yaml: str, model_url: str | None) -> dict[str, Any]:
        assert "nlu:" in test_yaml
        self.evaluated.append(model_url)
        name = model_url.rsplit("/", 1)[-1] if model_url else self.loaded
        assert name is not None, "no model given and none loaded"
        return self.report(name)

    def running_model(self, timeout_s: float = 10) -> str | None:
        return self.loaded
