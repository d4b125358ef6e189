"""Rendering console pages: one Jinja2 environment (autoescaped: borrower text is never
markup), the user's language, and the headers every page carries."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.console.i18n import translator
from backend.money import to_major

HERE = Path(__file__).resolve().parent

# Pages hold borrower data: never cached, never framed, scripts and styles from here only.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def duration(seconds: int, language: str = "en") -> str:
    """3 min 20 s / 1 h 05 min, for waiting times."""
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    zh = language == "zh"
    if hours:
        return f"{hours}小时{minutes:02d}分" if zh else f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes}分{secs:02d}秒" if zh else f"{minutes} min {secs:02d} s"
    return f"{secs}秒" if zh else f"{secs} s"


def score(value: float | None, signed: bool = False) -> str:
    """An F1 score or accuracy, three places ("–" when there is none)."""
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


@lru_cache
def templates(timezone: str) -> Jinja2Templates:
    tz = ZoneInfo(timezone)
    found = Jinja2Templates(directory=str(HERE / "templates"))
    env = found.env
    env.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": (
        value.astimezone(tz).strftime(fmt) if isinstance(value, datetime) else ""
    )
    env.filters["iso"] = lambda value: value.isoformat() if isinstance(value, datetime) else ""
    env.filters["duration"] = duration
    env.filters["percent"] = lambda value: "" if value is None else f"{value:.0%}"
    env.filters["money"] = lambda minor, currency: f"{to_major(minor, currency):,} {currency}"
    env.filters["score"] = score
    return found


def render(
    request: Request,
    template: str,
    *,
    language: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings = request.app.state.settings
    response = templates(settings.business_timezone).TemplateResponse(
        request,
        template,
        {"t": translator(language), "language": language, **context},
        status_code=status_code,
    )
    response.headers.update(HEADERS)
    return response
