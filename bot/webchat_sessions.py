"""Web chat sessions: the gateway picks a chat's sender id and gives the page a token that
proves it holds that chat. Pure (the clock is passed in).

A token is `v1.<sender>.<last seen, unix seconds>.<HMAC-SHA256>`, signed with WEBCHAT_SECRET:
nothing is stored, so a restart logs no borrower out and every replica behind the load
balancer accepts any other's tokens without shared state. A chat unused for the idle time is
refused (the page starts a new session); a token in use is re-issued with a new "last seen"
now and then (as a cookie), which keeps an active chat open. Changing the secret ends every
session. The sender id (unguessable, from the server) is also the chat's id at the backend."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

VERSION = "v1"
CLOCK_SKEW_SECONDS = 300  # a replica whose clock runs a little ahead
_SENDER = re.compile(r"^w-[A-Za-z0-9_-]{32}$")


def new_sender() -> str:
    """An unguessable chat id (192 random bits) that the page cannot choose."""
    return "w-" + secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class ChatSession:
    sender: str
    seen: int  # when the token was issued or last refreshed (unix seconds)


class SessionTokens:
    def __init__(self, secret: str, *, idle_seconds: float) -> None:
        self._key = hashlib.sha256(b"webchat-session:" + secret.encode()).digest()
        self.idle_seconds = idle_seconds
        # Re-issue an hour after the last one (sooner with a short idle time): a page in use
        # moves its idle clock on without a new cookie on every call.
        self.refresh_seconds = min(3600.0, idle_seconds / 4)

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, sender: str, now: float) -> str:
        payload = f"{VERSION}.{sender}.{int(now)}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str | None, now: float) -> ChatSession | None:
        """The session the token proves, or None: forged, malformed or idle too long."""
        if not token or len(token) > 256:
            return None
        version, _, rest = token.partition(".")
        sender, _, rest = rest.partition(".")
        seen, _, mac = rest.partition(".")
        if version != VERSION or not _SENDER.match(sender) or not seen.isdigit():
            return None
        if not hmac.compare_digest(mac, self._mac(f"{version}.{sender}.{seen}")):
            return None
        at = int(seen)
        if not now - self.idle_seconds <= at <= now + CLOCK_SKEW_SECONDS:
            return None
        return ChatSession(sender, at)

    def stale(self, session: ChatSession, now: float) -> bool:
        """Time to re-issue its token (the chat is in use)."""
        return now - session.seen >= self.refresh_seconds
