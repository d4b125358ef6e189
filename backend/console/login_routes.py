"""Logging in and out, and the user's own account (language, password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.audit.service import Actor, audit
from backend.console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    FormViewerDep,
    ViewerDep,
    current_viewer,
    login_csrf_ok,
    new_login_csrf,
    safe_next,
    same_origin,
    session_policy,
)
from backend.console.auth import LoginRequired as _LoginRequired
from backend.console.refusals import refusal_text
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError
from backend.session_turns import in_session
from backend.staff import rules
from backend.staff import service as staff
from backend.staff.login_guard import LoginGuard, wait_seconds
from backend.staff.passwords import password_matches, verify_password
from backend.types import utcnow

router = APIRouter(prefix="/console", include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("")
@router.get("/")
def console_home(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        viewer = current_viewer(request, session, settings)
    except _LoginRequired:
        return _see_other("/console/login")
    return _see_other(rules.home_page(viewer.role))


def _browser_language(request: Request) -> str:
    """Before log-in the page follows the browser's preferred language."""
    preferred = request.headers.get("accept-language", "").lower()
    return "zh" if preferred.startswith("zh") else "en"


def _login_page(
    request: Request,
    *,
    next_url: str,
    error: str = "",
    error_values: dict[str, str] | None = None,
    status_code: int = 200,
    note: str = "",
) -> HTMLResponse:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        language=_browser_language(request),
        status_code=status_code,
        csrf_token=token,
        next_url=next_url,
        error=error,
        error_values=error_values or {},
        note=note,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/console/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    note = "logged_out" if request.query_params.get("logged_out") else ""
    return _login_page(request, next_url=next, note=note)


def client_address(request: Request) -> str:
    """The address the log-in throttle counts by: the peer as the server sees it. Behind a
    proxy that is the proxy, unless uvicorn is told to trust its X-Forwarded-For
    (--proxy-headers with --forwarded-allow-ips naming the proxy)."""
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=None)
async def login(
    request: Request,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Async, with no session held throughout: the user is read in one short database turn,
    the password checked in a worker thread holding no session (argon2 is slow on purpose),
    and the outcome written in a second turn. Every refusal but the address throttle looks the
    same: an unknown user, a wrong password, a deactivated account, a locked address."""
    if not login_csrf_ok(request, csrf_token) or not same_origin(request):
        return _login_page(request, next_url=next, error="login.expired", status_code=403)
    guard: LoginGuard = request.app.state.login_guard
    address = client_address(request)
    now = utcnow()
    wait = guard.admit(address, now)
    if wait is not None:
        seconds = wait_seconds(wait)
        page = _login_page(
            request,
            next_url=next,
            error="login.throttled",
            error_values={"minutes": str(-(-seconds // 60))},
            status_code=429,
        )
        page.headers["Retry-After"] = str(seconds)
        return page
    name = username.strip().lower()
    actor = Actor(name=f"user:{name[:40]}", via="POST /console/login")
    candidate = await in_session(request, lambda s: staff.login_candidate(s, name))
    locked = guard.locked(name, address, now)
    checked_hash = None if candidate is None or locked else candidate.password_hash
    async with request.app.state.password_checks:  # argon2 on one core at a time, see app.py
        matches = await run_in_threadpool(password_matches, password, checked_hash)
    user = None
    if matches and candidate is not None and candidate.active:
        policy = session_policy(settings)

        def finish(session: Session) -> tuple[str, str] | None:
            """The new session's cookie token and the user's role, or None."""
            done = staff.complete_login(session, candidate=candidate, now=now)
            if done is None:
                return None
            token, _ = staff.open_session(session, user=done, now=now, policy=policy)
            audit(session, actor, "login", borrower_id=None, subject="console")
            return token, done.role

        user = await in_session(request, finish)
    if user is None:
        reason = _refusal(candidate, locked=locked, matches=matches)
        lock = None if locked else guard.failed(name, address, now)

        def record(session: Session) -> None:
            if candidate is not None and not locked:
                staff.record_failed_login(session, candidate=candidate, locked_until=lock)
            audit(session, actor, "login_failed", borrower_id=None, subject=reason)

        await in_session(request, record)
        return _login_page(
            request,
            next_url=next,
            error="login.wrong",
            error_values={
                "failures": str(settings.console_max_failed_logins),
                "minutes": str(settings.console_lock_minutes),
            },
            status_code=401,
        )
    guard.succeeded(name, address)
    token, role = user
    response = _see_other(safe_next(next, rules.home_page(role)))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/console",
        max_age=settings.console_session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


def _refusal(candidate: staff.LoginCandidate | None, *, locked: bool, matches: bool) -> str:
    """Why a log-in was refused, for the audit log only (the page says the same every time)."""
    if locked:
        return "locked"
    if candidate is None or not matches:
        return "wrong"
    return "inactive"


@router.post("/logout")
def logout(viewer: FormViewerDep, session: SessionDep) -> RedirectResponse:
    staff.end_session(session, row=viewer.session_row, now=utcnow())
    audit(session, viewer.actor, "logout", borrower_id=None, subject="console")
    response = _see_other("/console/login?logged_out=1")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "account.html", language=viewer.language, viewer=viewer)


@router.post("/account/language")
def set_language(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    language: Annotated[str, Form(max_length=2)],
    back: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    staff.update_user(session, user=viewer.user, now=utcnow(), language=language)
    return _see_other(safe_next(back, rules.home_page(viewer.role)))


@router.post("/account/password", response_model=None)
def change_password(
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    current_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=200)],
) -> Response:
    if not verify_password(current_password, viewer.user.password_hash):
        return render(
            request,
            "account.html",
            language=viewer.language,
            viewer=viewer,
            error="account.wrong_password",
            status_code=422,
        )
    try:
        staff.update_user(session, user=viewer.user, now=utcnow(), password=new_password)
    except DomainError as exc:
        return render(
            request,
            "account.html",
            language=viewer.language,
            viewer=viewer,
            error_text=refusal_text(exc, viewer.language),
            status_code=exc.status_code,
        )
    audit(session, viewer.actor, "update", borrower_id=None, subject="own password")
    # The change ended every session, this one included: log in again with the new password.
    response = _see_other("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
