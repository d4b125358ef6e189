"""The console on the backend's app: its routers, its static files, and how access refusals
look to a browser (a log-in redirect, a 403 or a 404 page; never a stack trace)."""

from __future__ import annotations

import asyncio
import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.console import (
    admin_routes,
    approval_routes,
    chat_action_routes,
    chat_routes,
    compliance_routes,
    dashboard_routes,
    inbox_routes,
    login_routes,
    model_routes,
    operations_routes,
    policy_routes,
    portfolio_routes,
    texts_routes,
    tuning_routes,
    warnings_routes,
)
from backend.console.auth import (
    BadCsrf,
    LoginRequired,
    NotAllowed,
    PageNotFound,
    login_url,
    session_policy,
)
from backend.console.rendering import HERE, render
from backend.security_headers import SecurityHeaders
from backend.staff.login_guard import LoginGuard


def _language(request: Request) -> str:
    return getattr(request.state, "console_language", "en")


def _error_page(request: Request, message: str, status_code: int) -> HTMLResponse:
    return render(
        request,
        "error.html",
        language=_language(request),
        status_code=status_code,
        message=message,
        viewer=getattr(request.state, "console_viewer", None),
    )


def install_console(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.login_guard = LoginGuard(
        attempts_per_window=settings.console_logins_per_address,
        lockout=session_policy(settings).lockout,
    )
    # Log-ins check passwords one at a time: argon2 is slow on purpose and takes a core while
    # it runs, so a burst of log-ins cannot starve every other request of CPU.
    app.state.password_checks = asyncio.Semaphore(1)
    # For every response of the backend, not only the console's: the checkout pages and
    # error pages too (it only fills in headers a route did not set).
    app.add_middleware(SecurityHeaders)
    for module in (
        login_routes,
        inbox_routes,
        chat_routes,
        chat_action_routes,
        approval_routes,
        admin_routes,
        operations_routes,
        tuning_routes,
        dashboard_routes,
        portfolio_routes,
        warnings_routes,
        model_routes,
        compliance_routes,
        texts_routes,
        policy_routes,
    ):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("x-console-live"):
            return Response(status_code=401)  # a live region's poll: the page reloads to log in
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _: NotAllowed) -> Response:
        return _error_page(request, "forbidden", 403)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, _: PageNotFound) -> Response:
        return _error_page(request, "not_found", 404)

    # The answer the app gave before the console came (the API's JSON), for everything else.
    others = app.exception_handlers.get(
        RequestValidationError, request_validation_exception_handler
    )

    @app.exception_handler(RequestValidationError)
    async def _bad_form(request: Request, exc: RequestValidationError) -> Response:
        """A console form with a field the page cannot have sent (a tampered date, a value
        out of range): a page saying so, not JSON. The API keeps its own answer."""
        if request.url.path.startswith("/console/"):
            return _error_page(request, "bad_form", 422)
        answer = others(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    @app.exception_handler(BadCsrf)
    async def _bad_csrf(request: Request, _: BadCsrf) -> Response:
        return _error_page(request, "bad_csrf", 403)
