"""Rasa's fixed replies (the `utter_*` responses of domain/responses.yml) in the wording running
in the backend (endpoints.yml, `nlg:`; `type: texts_nlg.RunningTexts`).

The backend keeps the console's versions of the texts and serves the running one at
`GET /api/v1/texts/running`: only what is overridden, per language, and button titles by
payload. This is Rasa's own response generator over the domain's responses with that laid on
top, so conditions, payloads and slot filling stay Rasa's. The domain's texts are the fallback:
until the backend first answers, and for as long as it cannot be reached the last version it
sent is kept.

A turn asks again when the last answer is older than TEXTS_REFRESH_SECONDS (3 s): an edit is
said within seconds, with no restart and no retraining. The turn waits for that answer at most
TIMEOUT_SECONDS, and not at all while the backend is known to be down: a slow backend makes a
reply at most one second late, and an unreachable one makes no reply late."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

import aiohttp
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0  # the longest a borrower's reply may wait for the backend
DEFAULT_LANGUAGE = "zh"  # the unconditioned variation's (domain/responses.yml)
LANGUAGE_SLOT = "language"

Responses = dict[str, list[dict[str, Any]]]
Texts = dict[str, dict[str, str]]


def refresh_seconds() -> float:
    return float(os.environ.get("TEXTS_REFRESH_SECONDS") or 3)


def language_of(variation: dict[str, Any]) -> str:
    """The language a variation is said in: its `language` slot condition, else the default."""
    for condition in variation.get("condition") or []:
        if isinstance(condition, dict) and condition.get("name") == LANGUAGE_SLOT:
            return str(condition.get("value"))
    return DEFAULT_LANGUAGE


def overlaid(shipped: Responses, texts: Texts, buttons: Texts) -> Responses:
    """The shipped responses with the overridden texts and button titles; `shipped` untouched."""
    running: Responses = {}
    for name, variations in shipped.items():
        running[name] = []
        for variation in variations:
            language = language_of(variation)
            new = dict(variation)
            text = texts.get(name, {}).get(language) if name.startswith("utter_") else None
            if text:
                new["text"] = text
            if isinstance(variation.get("buttons"), list):
                new["buttons"] = [
                    _titled(button, buttons, language) for button in variation["buttons"]
                ]
            running[name].append(new)
    return running


def _titled(button: Any, buttons: Texts, language: str) -> Any:
    if not isinstance(button, dict):
        return button
    title = buttons.get(str(button.get("payload")), {}).get(language)
    return {**button, "title": title} if title else button


def _by_language(value: Any) -> Texts:
    """The backend's `{key: {language: text}}`, with anything else in it left out."""
    if not isinstance(value, dict):
        raise ValueError(f"not an object: {type(value).__name__}")
    return {
        str(key): {str(lang): text for lang, text in entry.items() if isinstance(text, str)}
        for key, entry in value.items()
        if isinstance(entry, dict)
    }


class RunningTexts(TemplatedNaturalLanguageGenerator):
    """Rasa's generator (`rasa.core.nlg.generator._load_from_module_name_in_endpoint_config`
    makes it with the `nlg:` endpoint and the domain) saying the running texts."""

    def __init__(
        self,
        endpoint_config: EndpointConfig,
        domain: Domain | None = None,
        *,
        every: float | None = None,
    ) -> None:
        self.url: str | None = endpoint_config.url
        self.headers = {"X-Service-Name": "rasa", **(endpoint_config.headers or {})}
        self.every = every if every is not None else refresh_seconds()
        self.version: int | None = None  # None: nothing heard from the backend yet
        self._texts: Texts = {}
        self._buttons: Texts = {}
        self._etag: str | None = None
        self._reachable = True
        self._asked = -float("inf")  # time.monotonic() of the last attempt
        self._fetch: asyncio.Task[None] | None = None
        # serve.py loads a new model in a worker thread, and Agent.load_model sets `responses`
        # there: one lock, so that no overlay is made from the previous model's responses.
        self._lock = threading.Lock()
        self._shipped: Responses = {}
        self._running: Responses = {}
        if not self.url:
            log.warning("texts: the nlg endpoint has no url; saying the shipped texts")
        super().__init__(domain.responses if domain else {})

    @property  # type: ignore[override]
    def responses(self) -> Responses:
        """What Rasa picks a variation from: the shipped responses with the overrides."""
        return self._running

    @responses.setter
    def responses(self, shipped: Responses) -> None:
        # Rasa sets the domain's responses here once a model is loaded (Agent.load_model): the
        # domain given to __init__ is an empty one while the model server has not answered.
        with self._lock:
            self._shipped = shipped
            self._running = overlaid(shipped, self._texts, self._buttons)

    def _use(self, version: int, texts: Texts, buttons: Texts) -> None:
        with self._lock:
            self._texts, self._buttons = texts, buttons
            self._running = overlaid(self._shipped, texts, buttons)
        if version != self.version:
            log.info("texts version %s in use", version)
        self.version = version

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        await self._keep_up()
        return await super().generate(utter_action, tracker, output_channel, **kwargs)

    async def _keep_up(self) -> None:
        """Ask the backend again when the last answer is too old; wait a second at most."""
        if not self.url:
            return
        if self._fetch is None or self._fetch.done():
            if time.monotonic() - self._asked < self.every:
                return
            self._fetch = asyncio.create_task(self.refresh())
        if self._reachable:  # while it is down the attempt goes on without the turn
            await asyncio.wait({self._fetch}, timeout=TIMEOUT_SECONDS)

    async def refresh(self) -> None:
        """One attempt; on any failure what is in use stays, and a later turn asks again."""
        self._asked = time.monotonic()
        headers = dict(self.headers)
        if self._etag:
            headers["If-None-Match"] = self._etag
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(str(self.url), headers=headers) as answer,
            ):
                if answer.status == 304:  # nothing changed since the version in use
                    self._answered()
                    return
                answer.raise_for_status()
                body = await answer.json(content_type=None)
                etag = answer.headers.get("ETag")
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            version = body["version"]
            if not isinstance(version, int):
                raise ValueError(f"version {version!r}")
            texts, buttons = _by_language(body["texts"]), _by_language(body["buttons"])
        # asyncio's TimeoutError is not yet the builtin one in Rasa's Python 3.10
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, KeyError) as exc:  # noqa: UP041
            if self._reachable:  # once per outage, not every few seconds
                log.warning(
                    "texts: the backend cannot be reached (%s); saying texts version %s",
                    exc.__class__.__name__,
                    self.version or 0,
                )
            self._reachable = False
            return
        self._use(version, texts, buttons)
        self._etag = etag
        self._answered()

    def _answered(self) -> None:
        if not self._reachable:
            log.info("texts: the backend answers again")
        self._reachable = True
