"""The action server, started as `python -m actions.serve --actions actions --port 5055` (the
same arguments as `python -m rasa_sdk`): rasa_sdk's own server, which runs any action for any
conversation for whoever reaches it, plus a shared secret. Every request but `GET /health`
must carry `Authorization: Bearer <ACTION_SERVER_TOKEN>` (Rasa sends it: nlu/endpoints.yml),
or it is answered 401 before any action runs. rasa-sdk 3.6 has no token of its own; its plugin
hook (`attach_sanic_app_extensions`, called before the server starts) adds the check, and the
task that follows the texts version operations run (actions/running_texts.py).

It does not start without ACTION_SERVER_TOKEN, nor with an unknown APP_ENV, nor, with
APP_ENV=production, with a development, short or guessable ACTION_SERVER_TOKEN or SERVICE_TOKEN
(config_rules.py): one line for each problem."""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import Mapping

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.config_rules import app_env_problem, secret_problem

OPEN_PATHS = frozenset({"/health"})  # liveness only: says nothing, runs nothing
# How long an idle connection is kept (Sanic's default is 5 s). Callers give one up sooner
# (nginx after 60 s, Rasa's own pool after 4 s): a connection the server closes just as a
# request comes in on it fails that request. A server waking from a stall closes the ones idle
# past its keep-alive even when a request has just come in on them (the fault matrix's stalled
# action servers did, with 5 s against nginx's 4): the margin must outlast a stall.
KEEP_ALIVE_SECONDS = 75
# What production checks (config_rules.py): the shared secret, and the backend's token the
# actions call it with (actions/backend.py).
PRODUCTION_SECRETS = ("ACTION_SERVER_TOKEN", "SERVICE_TOKEN")

hookimpl = pluggy.HookimplMarker("rasa_sdk")
log = logging.getLogger(__name__)


def refusals(env: Mapping[str, str]) -> list[str]:
    """Why the action server must not start with this environment, one line each; empty when
    it may."""
    app_env = env.get("APP_ENV", "development")
    if (unknown := app_env_problem(app_env)) is not None:
        return [unknown]
    if app_env == "production":
        found = (secret_problem(name, env.get(name, "")) for name in PRODUCTION_SECRETS)
        return [problem for problem in found if problem]
    if not env.get("ACTION_SERVER_TOKEN"):
        return ["ACTION_SERVER_TOKEN is not set: anyone could run any action for any chat"]
    return []


def allowed(method: str, path: str, authorization: str | None, secret: str) -> bool:
    """Whether a request may reach the action server: the health check, or the secret
    (compared in constant time)."""
    if method in ("GET", "HEAD") and path in OPEN_PATHS:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return False
    return hmac.compare_digest(given.strip().encode(), secret.encode())


class FollowTexts:
    """rasa_sdk plugin: the texts version running in the backend, followed while the server
    runs (actions/running_texts.py)."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        import asyncio
        import contextlib

        from actions.running_texts import RunningTexts

        following: list[asyncio.Task[None]] = []

        @app.after_server_start
        async def follow(app: Sanic, _loop: object) -> None:
            following.append(asyncio.get_running_loop().create_task(RunningTexts().follow()))

        @app.before_server_stop
        async def stop(app: Sanic, _loop: object) -> None:
            for task in following:  # ended, not left pending when the server stops
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


class TextExperiments:
    """rasa_sdk plugin: each action run knows the borrower's key for texts under experiment
    (the gateway's `arm` metadata), and the wordings it said are reported to the backend after
    the answer has gone (a report lost to an outage loses a count, never a reply)."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        import asyncio

        from actions import messages, request_ids

        pending: set[asyncio.Task[None]] = set()

        @app.middleware("request")
        async def begin(request: Request) -> None:
            if request.method == "POST" and request.path == "/webhook":
                body = request.json if isinstance(request.json, dict) else {}
                tracker = body.get("tracker") or {}
                metadata = (tracker.get("latest_message") or {}).get("metadata") or {}
                arm = metadata.get("arm") if isinstance(metadata, dict) else None
                messages.begin_turn(arm if isinstance(arm, str) else None)
                request.ctx.sender = tracker.get("sender_id")
                # The report's key: this action run's, so a turn run again counts once.
                events, action = tracker.get("events"), body.get("next_action")
                key = (
                    request_ids.once_key(tracker.get("latest_message") or {}, events, action)
                    if isinstance(events, list) and isinstance(action, str)
                    else None
                )
                request.ctx.once_key = f"{key}:exposures" if key else None

        @app.middleware("response")
        async def report(request: Request, _: HTTPResponse) -> None:
            said = messages.said_in_turn() if request.path == "/webhook" else []
            sender = getattr(request.ctx, "sender", None)
            if said and isinstance(sender, str):
                once_key = getattr(request.ctx, "once_key", None)
                version = messages.running_version()
                task = asyncio.create_task(_report(sender, version, said, once_key))
                pending.add(task)  # kept until done: a task nobody holds may be collected
                task.add_done_callback(pending.discard)


async def _report(
    sender: str, version: int, said: list[tuple[str, str]], once_key: str | None
) -> None:
    from actions import backend as api

    try:
        channel, user_id = api.conversation_of(sender)
        async with api.Backend(once_key=once_key) as client:
            await client.record_text_exposures(channel, user_id, version=version, said=said)
    except api.BackendError as exc:
        log.warning("text experiment not counted: %s", type(exc).__name__)


class KeptConnections:
    """rasa_sdk plugin: idle connections kept KEEP_ALIVE_SECONDS (rasa_sdk sets nothing)."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_SECONDS


class SharedSecret:
    """rasa_sdk plugin: the secret checked before any route runs."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        @app.middleware("request")
        async def authenticate(request: Request) -> HTTPResponse | None:
            if allowed(request.method, request.path, request.headers.get("Authorization"),
                       self.secret):  # fmt: skip
                return None
            return response.json(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )


def main() -> None:
    if problems := refusals(os.environ):
        raise SystemExit("\n".join(f"action server not started: {p}" for p in problems))
    from rasa_sdk.__main__ import main as rasa_sdk_main
    from rasa_sdk.plugin import plugin_manager

    # httpx logs every request at INFO: each backend call's URL names the chat, and the texts
    # poll (every few seconds) would fill the log. Failures are logged by the actions.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    plugin_manager().register(SharedSecret(os.environ["ACTION_SERVER_TOKEN"]))
    plugin_manager().register(FollowTexts())
    plugin_manager().register(TextExperiments())
    plugin_manager().register(KeptConnections())
    rasa_sdk_main()


if __name__ == "__main__":
    sys.exit(main())
