"""Every response of the backend carries the security headers; pages that set their own keep
them (the console's, the checkout's)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_console_pages_keep_their_own_policy_and_get_the_rest(client: TestClient) -> None:
    page = client.get("/console/login")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"


def test_api_answers_are_not_sniffed_or_framed(client: TestClient) -> None:
    answer = client.get("/api/v1/loans/NOPE")
    assert answer.status_code == 404
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in answer.headers  # JSON, not a page


def test_the_api_docs_still_load_their_scripts_but_are_never_framed(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
