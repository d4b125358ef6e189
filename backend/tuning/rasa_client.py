"""Rasa's HTTP API, as retraining uses it: train on a YAML document, score a model (fetched by
Rasa from the backend's model endpoint) on a test split, and ask which model is running. Every
call carries Rasa's --auth-token as the `token` query parameter, the one form Rasa 3.6 takes."""

from __future__ import annotations

from typing import Any

import httpx

YAML = "application/x-yaml"  # the content type Rasa's server takes YAML training data as


class RasaError(Exception):
    """Rasa could not be reached or refused; the message says which and why."""


class RasaTrainer:
    def __init__(
        self, base_url: str, *, token: str | None = None, train_timeout_s: float = 3 * 3600
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.train_timeout_s = train_timeout_s
        self._auth = {"token": token} if token else {}

    def train(self, document: str) -> tuple[str, bytes]:
        """The trained model's file name and bytes. Blocks for the whole training (minutes);
        Rasa trains in a thread of its own, so it keeps answering borrowers meanwhile."""
        response = self._post(
            "/model/train",
            document,
            params={"save_to_default_model_directory": "false", "force_training": "true"},
            timeout=self.train_timeout_s,
        )
        name = response.headers.get("filename")
        if not name or not response.content:
            raise RasaError("Rasa finished training without returning a model")
        return name, response.content

    def evaluate(self, test_yaml: str, model_url: str | None) -> dict[str, Any]:
        """Rasa's intent evaluation of the model at `model_url` (None: the model Rasa has
        loaded, which saves loading it again) on the test data: the
        `intent_evaluation.report` is scikit-learn's classification report per intent."""
        params = {"model": model_url} if model_url else {}
        response = self._post("/model/test/intents", test_yaml, params=params, timeout=1800)
        report: dict[str, Any] = response.json()
        return report

    def running_model(self, timeout_s: float = 10) -> str | None:
        """The file name of the model this Rasa has loaded, or None without one."""
        try:
            response = httpx.get(f"{self.base_url}/status", params=self._auth, timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise RasaError(f"Rasa is not reachable: {exc}") from exc
        if response.status_code == 409:  # no model loaded
            return None
        if response.status_code != 200:
            raise RasaError(f"Rasa answered {response.status_code} to /status")
        name = response.json().get("model_file")
        return str(name).rsplit("/", 1)[-1] if name else None

    def _post(
        self, path: str, body: str, *, params: dict[str, str], timeout: float
    ) -> httpx.Response:
        try:
            response = httpx.post(
                f"{self.base_url}{path}",
                content=body.encode("utf-8"),
                params={**params, **self._auth},
                headers={"Content-Type": YAML},
                timeout=httpx.Timeout(timeout, connect=10),
            )
        except httpx.HTTPError as exc:
            raise RasaError(f"Rasa is not reachable: {exc}") from exc
        if response.status_code != 200:
            raise RasaError(f"Rasa answered {response.status_code}: {_reason(response)}")
        return response


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:500]
    except ValueError:
        return response.text[:500]
