"""Who is looking at the console: the session cookie, the logged-in user, what their role
opens, and CSRF on every form. Pages depend on `ViewerDep` or on `need("<permission>")`."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from backend.audit.service import Actor
from backend.config import Settings
from backend.deps import SessionDep, SettingsDep
from backend.staff import rules
from backend.staff import service as staff
from backend.staff.models import StaffSession, StaffUser
from backend.types import utcnow

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"


class LoginRequired(Exception):
    """No live session: the handler sends the browser to the log-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class NotAllowed(Exception):
    """The user's role does not open this page (403)."""


class PageNotFound(Exception):
    """Nothing here for this user (404), also when it exists but is another collector's: a
    changed URL tells nothing about what others have."""


class BadCsrf(Exception):
    """A form without this session's token, or posted from another site (403)."""


def session_policy(settings: Settings) -> staff.SessionPolicy:
    return staff.SessionPolicy(
        idle=timedelta(minutes=settings.console_idle_minutes),
        absolute=timedelta(hours=settings.console_session_hours),
        lockout=rules.LockoutPolicy(
            max_failures=settings.console_max_failed_logins,
            lock_for=timedelta(minutes=settings.console_lock_minutes),
        ),
    )


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in user as pages see them. Plain values, read once: an error page rendered
    after the request's session has closed can still show who is logged in."""

    user: StaffUser  # for changes to the account, within the request
    session_row: StaffSession
    username: str
    display_name: str
    role: str
    language: str
    csrf_token: str
    via: str  # "GET /console/handoffs/3"

    @classmethod
    def of(cls, row: StaffSession, via: str) -> Viewer:
        user = row.user
        return cls(
            user=user,
            session_row=row,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            language=user.language,
            csrf_token=row.csrf_token,
            via=via[:200],
        )

    @property
    def actor(self) -> Actor:
        return Actor(name=f"user:{self.username}", via=self.via)

    def can(self, permission: str) -> bool:
        return rules.can(self.role, permission)


def _next_url(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def current_viewer(request: Request, session: SessionDep, settings: SettingsDep) -> Viewer:
    row = staff.session_for(
        session,
        token=request.cookies.get(SESSION_COOKIE, ""),
        now=utcnow(),
        policy=session_policy(settings),
    )
    if row is None:
        raise LoginRequired(_next_url(request) if request.method == "GET" else "")
    viewer = Viewer.of(row, via=f"{request.method} {request.url.path}")
    request.state.console_language = viewer.language  # for error pages
    request.state.console_viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def need(permission: str) -> object:
    """A dependency: the viewer, whose role must open `permission` (else 403)."""

    def check(viewer: ViewerDep) -> Viewer:
        if not viewer.can(permission):
            raise NotAllowed(permission)
        return viewer

    return Depends(check)


def same_origin(request: Request) -> bool:
    """A browser's form post names where it came from: it must be this site."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None  # no header at all: not a browser's cross-site post
    return urlsplit(source).netloc == request.headers.get("host", request.url.netloc)


async def posted_form(request: Request) -> FormData:
    """The form, read on the event loop; the check below runs in a worker thread, as anything
    that holds a database session does (the viewer does)."""
    return await request.form()


def checked_form(
    request: Request, viewer: ViewerDep, form: Annotated[FormData, Depends(posted_form)]
) -> Viewer:
    """Every console form carries the session's CSRF token and comes from this site."""
    token = form.get("csrf_token")
    if (
        not isinstance(token, str)
        or not hmac.compare_digest(token.encode(), viewer.csrf_token.encode())
        or not same_origin(request)
    ):
        raise BadCsrf()
    return viewer


FormViewerDep = Annotated[Viewer, Depends(checked_form)]


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_ok(request: Request, token: str) -> bool:
    """The log-in form's double-submit token: the hidden field equals the cookie."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), token.encode())


def login_url(next_url: str) -> str:
    return f"/console/login?next={quote(next_url)}" if next_url else "/console/login"


def safe_next(next_url: str | None, fallback: str) -> str:
    """Only a path on this site: never an open redirect."""
    if not next_url or not next_url.startswith("/console/") or next_url.startswith("//"):
        return fallback
    return next_url
