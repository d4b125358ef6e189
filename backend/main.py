"""The backend's ASGI app: `uvicorn --factory backend.main:create_app`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException

from backend import (
    access_log,
    models,  # noqa: F401  (all tables registered)
)
from backend.api_errors import error_responses, http_error
from backend.body_limit import BodySizeLimit
from backend.borrowers.routes import router as borrowers_router
from backend.cases.handoff_routes import router as handoffs_router
from backend.cases.routes import from_chat as cases_from_chat_router
from backend.cases.routes import router as cases_router
from backend.config import Settings
from backend.console.app import install_console
from backend.conversations.inbound_batches import InboundBatch, receive_batch
from backend.conversations.inbound_batches import router as inbound_batches_router
from backend.conversations.message_routes import router as messages_router
from backend.conversations.paths import ChatPath
from backend.conversations.routes import InboundMessage, receive_inbound
from backend.conversations.routes import router as conversations_router
from backend.conversations.turn_batches import TurnBatch, log_batch
from backend.conversations.turn_batches import router as turn_batches_router
from backend.database_busy import database_unavailable
from backend.db import connection_slots, make_engine
from backend.deps import SessionDep, require_service_token
from backend.empty_filters import IgnoreEmptyQueryValues
from backend.errors import DomainError
from backend.hot_routes import HotRoute, HotRoutes
from backend.idempotency import AnsweredMeanwhile, answered_meanwhile
from backend.ledger import events
from backend.ledger.borrower_routes import router as self_service_router
from backend.ledger.routes import router as loans_router
from backend.monitoring import install as install_monitoring
from backend.outbound import routes as outbound_routes
from backend.outreach.preference_routes import router as preference_router
from backend.payments.providers import payment_providers
from backend.payments.routes import api as payments_router
from backend.payments.routes import checkout, webhooks
from backend.plans import routes as plans_routes
from backend.policy_files import file_versions
from backend.policy_versions.files import Policies
from backend.policy_versions.running import RunningPolicies
from backend.promises import routes as promises_routes
from backend.promises import service as promises
from backend.request_errors import validation_error
from backend.startup import refuse_demo_data, settings_or_exit
from backend.texts import routes as texts_routes
from backend.texts.catalogue import load_shipped
from backend.tuning import model_routes


def use_policies(app: FastAPI, policies: Policies) -> None:
    """What the routes read (request.app.state), swapped whole."""
    app.state.plan_policy = policies.plans
    app.state.promise_policy = policies.promises
    app.state.outreach = policies.outreach


def refresh_policies(app: FastAPI) -> bool:
    """Check the active policy versions now; whether the policy in force changed."""
    running: RunningPolicies = app.state.running_policies
    if changed := running.refresh():
        use_policies(app, running.policies)
    return changed


@asynccontextmanager
async def _follow_policies(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves: an approved or rolled-back policy version in force within
    seconds on this replica (policy_versions/running.py)."""

    async def follow() -> None:
        while True:
            await asyncio.sleep(app.state.running_policies.every)
            await run_in_threadpool(refresh_policies, app)

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()


def hot_routes() -> list[HotRoute]:
    """The routes every borrower message calls: the message in, and the turns of a moment."""
    return [
        HotRoute(
            "/api/v1/conversations/{channel}/{user_id}/inbound",
            ChatPath,
            InboundMessage,
            receive_inbound,
        ),
        HotRoute("/api/v1/inbound", None, InboundBatch, receive_batch),
        HotRoute("/api/v1/turns", None, TurnBatch, log_batch, status=201),
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    # Without settings, a process is starting (uvicorn --factory, `python -m backend serve`):
    # unsafe settings end it with one line per problem, not a traceback.
    settings = settings or settings_or_exit()
    app = FastAPI(
        lifespan=_follow_policies,
        title="Borrower self-service assistant: loan backend",
        version="1",
        description=(
            "The system of record behind the assistant. `/api/v1` needs the service token; "
            "the collector console is at `/console`."
        ),
    )
    engine = make_engine(settings.database_url)
    refuse_demo_data(settings, engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker(engine, expire_on_commit=False)
    app.state.session_slots = asyncio.Semaphore(connection_slots(engine))
    # New links: the hosted checkout when configured, else the sandbox when on (providers.py).
    app.state.payment_providers, app.state.default_payment_provider = payment_providers(settings)
    # The policy files with the versions approved in the console; followed while serving.
    running = RunningPolicies(
        settings.config_dir,
        settings,
        app.state.sessionmaker,
        every=settings.policy_refresh_seconds,
    )
    running.refresh()
    app.state.running_policies = running
    use_policies(app, running.policies)
    app.state.policy_versions = file_versions(settings.config_dir)  # what this process runs
    app.state.texts = load_shipped(settings.config_dir, settings.nlu_dir)  # what operations edit
    events.on_payment_posted(
        "promises", promises.payment_listener(lambda: app.state.promise_policy)
    )

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message, "code": exc.code}
        if exc.params:
            body["params"] = exc.params
        return JSONResponse(body, status_code=exc.status_code)

    # Before the console's handler, which answers its own pages and passes the rest to this.
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    # A lock or statement timeout, or no database: 503 with Retry-After (database_busy.py).
    app.add_exception_handler(OperationalError, database_unavailable)
    # A keyed write done meanwhile by a call with the same key: its answer (idempotency.py).
    app.add_exception_handler(AnsweredMeanwhile, answered_meanwhile)
    # Innermost: the calls of every borrower message, well formed, answered before routing.
    app.add_middleware(HotRoutes, routes=hot_routes())
    # `?kind=&status=` on the API means no filter, not a filter on "" (empty_filters.py).
    app.add_middleware(IgnoreEmptyQueryValues, prefix="/api/")
    # Outermost: a body over the limit is refused before anything else reads it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    @app.get("/healthz", tags=["health"])
    def healthz(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok"}

    api_deps = [Depends(require_service_token)]
    for router in (
        loans_router,
        borrowers_router,
        payments_router,
        conversations_router,
        preference_router,
        self_service_router,
        messages_router,
        turn_batches_router,
        inbound_batches_router,
        cases_from_chat_router,
        cases_router,
        handoffs_router,
        plans_routes.staff,
        plans_routes.borrower,
        promises_routes.self_service,
        promises_routes.staff,
        outbound_routes.to_chat,
        outbound_routes.gateway,
        model_routes.router,
        texts_routes.router,
        texts_routes.from_chat,
    ):
        app.include_router(
            router,
            prefix="/api/v1",
            dependencies=api_deps,
            responses=error_responses(400, 401, 413, 422),
        )
    app.include_router(webhooks, responses=error_responses(400, 404, 409, 413, 422))
    app.include_router(checkout)
    install_console(app)
    access_log.install()  # no tokens or chat ids in request lines
    install_monitoring(app, settings)  # last: its middleware sees every response
    return app
