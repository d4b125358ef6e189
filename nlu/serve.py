"""Rasa's server with a model swap that never stalls a conversation: `python serve.py run ...`
takes `rasa run`'s arguments. Run from nlu/ with the Rasa virtualenv's Python.

The one change: a model fetched from the model server (the backend, nlu/endpoints.yml) is
loaded in a worker thread and swapped in when it is ready. Rasa 3.6 loads it on its event
loop, so every borrower would wait out the load (seconds, or tens of seconds on a busy
machine, past the gateway's timeout); this way the running model keeps answering meanwhile.
The swap itself is Rasa's own (`Agent.load_model` replaces the processor in one step).

And `run` is never open: it needs RASA_TOKEN, which becomes Rasa's `--auth-token` (its HTTP
API) and the REST channel's bearer secret (credentials.yml, channels.py). The token is added
to Rasa's arguments here rather than on the command line, where `ps` would show it. With
APP_ENV=production a development or short RASA_TOKEN or ACTION_SERVER_TOKEN stops it at once."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping

import aiohttp
from rasa.core import agent as rasa_agent
from rasa.nlu.utils import is_url
from rasa.utils.common import TempDirectoryPath, get_temp_dir_name
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

DEV_SECRET_PREFIX = "dev-"  # noqa: S105  (the development defaults, refused in production)
MIN_SECRET_LENGTH = 16
SECRETS = ("RASA_TOKEN", "ACTION_SERVER_TOKEN")


def refusal(env: Mapping[str, str]) -> str | None:
    """Why Rasa must not serve with this environment (one line), or None."""
    if not env.get("RASA_TOKEN"):
        return "RASA_TOKEN is not set: Rasa's HTTP API and REST channel would be open to anyone"
    if env.get("APP_ENV") == "production":
        weak = [
            name
            for name in SECRETS
            if env.get(name, "").startswith(DEV_SECRET_PREFIX)
            or len(env.get(name, "")) < MIN_SECRET_LENGTH
        ]
        if weak:
            return "production refuses development or short secrets: set " + ", ".join(weak)
    return None


async def update_model_from_server(model_server: EndpointConfig, agent: rasa_agent.Agent) -> None:
    """`rasa.core.agent._update_model_from_server`, with the load off the event loop."""
    if not is_url(model_server.url):
        raise aiohttp.InvalidURL(model_server.url)
    with TempDirectoryPath(get_temp_dir_name()) as folder:
        try:
            fingerprint = await rasa_agent._pull_model_and_fingerprint(
                model_server, agent.fingerprint, folder
            )
            if fingerprint:
                log.info("loading model %s beside the running one", fingerprint)
                await asyncio.to_thread(
                    rasa_agent._load_and_set_updated_model, agent, folder, fingerprint
                )
                log.info("model %s is now answering", fingerprint)
        except Exception:
            log.exception("Failed to update model. The previous model will stay loaded instead.")


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        if (reason := refusal(os.environ)) is not None:
            raise SystemExit(f"Rasa not started: {reason}")
        if "--auth-token" not in sys.argv:
            sys.argv += ["--auth-token", os.environ["RASA_TOKEN"]]
    # looked up by name at each pull (rasa.core.agent), so this replaces it everywhere
    rasa_agent._update_model_from_server = update_model_from_server
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
