"""A browser-like client of the console for API-level tests: logs in through the form, keeps
its cookies, and sends each form with the CSRF token of the page it last loaded."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.staff import service as staff
from backend.staff.models import StaffUser

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(
    db: Session, username: str, role: str, *, language: str = "en", name: str = ""
) -> StaffUser:
    user = staff.create_user(
        db,
        username=username,
        display_name=name or username.capitalize(),
        role=role,
        language=language,
        password=PASSWORD,
    )
    db.commit()
    return user


class Console:
    def __init__(self, app: FastAPI, *, address: str = "testclient") -> None:
        """`address`: the client address the app sees (the log-in throttle counts by it)."""
        self.http = TestClient(
            app, base_url="http://testserver", follow_redirects=False, client=(address, 50000)
        )
        self.csrf = ""

    def _remember(self, response: httpx.Response) -> httpx.Response:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._remember(self.http.get(url, **kwargs))

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/console/login")
        return self.http.post(
            "/console/login",
            data={"username": username, "password": password, "csrf_token": self.csrf},
        )

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        body = {"csrf_token": self.csrf, **(data or {})}
        return self._remember(self.http.post(url, data=body, **kwargs))

    def follow(self, response: httpx.Response) -> httpx.Response:
        """The page a 303 leads to."""
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return self.get(response.headers["location"])
