"""What keeps the sandbox checkout page to itself: a CSRF token bound to the page it was shown
on (a double-submit cookie scoped to that link's path, like the console's log-in form), a
same-origin check on the post, and the page's headers: a strict CSP whose one inline style is
allowed by a nonce, no framing, no caching, and a Referer only to this site. The URL holds the
link's token, so no other site may see it; "no-referrer" would also hide it from us, and
browsers then send the page's own post with `Origin: null`, which the origin check refuses."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse

from backend.console.auth import same_origin

CSRF_COOKIE = "checkout_csrf"


def new_token() -> str:
    """A fresh random value: the form's CSRF token, or a CSP nonce."""
    return secrets.token_urlsafe(24)


def post_allowed(request: Request, form_token: str) -> bool:
    """The form's hidden token equals the cookie set with the page, and the post names this
    site as its origin (a browser's cross-site post names another; no header at all is a
    non-browser client, which holds no victim's cookie)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return (
        bool(cookie)
        and hmac.compare_digest(cookie.encode(), form_token.encode())
        and same_origin(request)
    )


def page_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def protect(response: HTMLResponse, request: Request, *, csrf: str, nonce: str) -> HTMLResponse:
    """The page's headers, and its CSRF cookie for the form it carries (`csrf`)."""
    response.headers.update(page_headers(nonce))
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path=request.url.path,
    )
    return response
