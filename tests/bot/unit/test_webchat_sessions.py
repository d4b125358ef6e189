"""Web chat session tokens (pure): signed, bound to one sender, over after the idle time."""

from __future__ import annotations

import re

import pytest
from tornado.httpserver import HTTPServer
from tornado.web import Application

from bot.telegram_app import limit_webhook_bodies
from bot.text_cleaning import clean
from bot.webchat_sessions import SessionTokens, new_sender

NOW = 1_800_000_000.0
DAY = 86_400


@pytest.fixture
def tokens() -> SessionTokens:
    return SessionTokens("a-secret-for-tests", idle_seconds=30 * DAY)


def test_a_sender_is_random_and_fits_the_web_chats_ids() -> None:
    senders = {new_sender() for _ in range(100)}
    assert len(senders) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_.:-]{8,128}", s) for s in senders)


def test_a_token_proves_its_sender_until_it_has_been_idle_too_long(tokens: SessionTokens) -> None:
    sender = new_sender()
    token = tokens.issue(sender, NOW)
    assert sender in token  # the id is not the secret: the signature is
    session = tokens.verify(token, NOW + 29 * DAY)
    assert session is not None and session.sender == sender
    assert tokens.verify(token, NOW + 31 * DAY) is None
    assert tokens.verify(tokens.issue(sender, NOW + 29 * DAY), NOW + 31 * DAY) is not None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace(t.split(".")[1], new_sender()),  # another chat's id
        lambda t: t.replace(t.split(".")[2], str(int(t.split(".")[2]) + 1)),  # a later time
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "v2" + t[2:],
        lambda t: "",
        lambda t: t + "." + t,
    ],
)
def test_a_changed_or_foreign_token_proves_nothing(tokens: SessionTokens, tamper: object) -> None:
    token = tokens.issue(new_sender(), NOW)
    assert tokens.verify(tamper(token), NOW) is None  # type: ignore[operator]
    other = SessionTokens("another-secret", idle_seconds=30 * DAY)
    assert other.verify(token, NOW) is None


def test_a_token_in_use_is_renewed_now_and_then(tokens: SessionTokens) -> None:
    session = tokens.verify(tokens.issue(new_sender(), NOW), NOW)
    assert session is not None
    assert not tokens.stale(session, NOW + 60)
    assert tokens.stale(session, NOW + 3600)


def test_nul_and_lone_surrogates_are_dropped_and_the_rest_kept() -> None:
    assert clean("a\x00b\ud800c\udfff 😀 还") == "abc 😀 还"


def test_the_telegram_webhook_server_reads_no_large_body() -> None:
    limit_webhook_bodies(4096)
    try:
        server = HTTPServer(Application())
        assert server.conn_params.max_body_size == 4096
    finally:
        HTTPServer.configure(None)
