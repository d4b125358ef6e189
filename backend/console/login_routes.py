"""Logging in and out, and the user's own account (language, password)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

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
    session_policy,
)
from backend.console.auth import LoginRequired as _LoginRequired
from backend.console.rendering import render
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError
from backend.staff import rules
from backend.staff import service as staff
from backend.staff.passwords import verify_password
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


@router.post("/login", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not login_csrf_ok(request, csrf_token):
        return _login_page(request, next_url=next, error="login.expired", status_code=403)
    now = utcnow()
    policy = session_policy(settings)
    result = staff.authenticate(
        session, username=username, password=password, now=now, policy=policy.lockout
    )
    actor = Actor(name=f"user:{username.strip().lower()[:40]}", via="POST /console/login")
    if result.user is None:
        audit(session, actor, "login_failed", borrower_id=None, subject=result.refusal or "")
        if result.refusal == "locked" and result.locked_until is not None:
            local = result.locked_until.astimezone(ZoneInfo(settings.business_timezone))
            return _login_page(
                request,
                next_url=next,
                error="login.locked",
                error_values={"until": f"{local:%H:%M}"},
                status_code=429,
            )
        return _login_page(request, next_url=next, error="login.wrong", status_code=401)
    token, _ = staff.open_session(session, user=result.user, now=now, policy=policy)
    audit(session, actor, "login", borrower_id=None, subject="console")
    response = _see_other(safe_next(next, rules.home_page(result.user.role)))
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
            error_text=exc.message,
            status_code=exc.status_code,
        )
    audit(session, viewer.actor, "update", borrower_id=None, subject="own password")
    # The change ended every session, this one included: log in again with the new password.
    response = _see_other("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
