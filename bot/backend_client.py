"""The gateway's one client of the backend API: typed results, and two exceptions a caller
handles (the backend is unreachable; the backend refused)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from bot import request_ids
from bot.http_transport import AiohttpTransport


class BackendUnavailable(Exception):
    """Unreachable, timed out or failing (5xx): what was asked may not have happened."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status  # the 5xx it answered; None when it did not answer at all


class BackendRefused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Inbound:
    message_id: int
    duplicate: bool
    mode: str  # bot | human
    language: str | None
    verified: bool
    opted_out: bool = False  # the message was an opt-out word (in any form): the chat is out
    arm_key: str | None = None  # the borrower's key for texts under experiment

    @classmethod
    def of(cls, d: dict[str, Any]) -> Inbound:
        """The backend's answer to /inbound (the gateway's call, or Rasa's channel's)."""
        return cls(
            message_id=d["message_id"],
            duplicate=d["duplicate"],
            mode=d["mode"],
            language=d.get("language"),
            verified=d["verified"],
            opted_out=bool(d.get("opted_out", False)),
            arm_key=d.get("arm_key") if isinstance(d.get("arm_key"), str) else None,
        )


@dataclass(frozen=True, slots=True)
class OutboundItem:
    id: int
    channel: str
    user_id: str
    text: str
    buttons: list[dict[str, Any]] | None
    sender: str
    author: str | None
    resume_bot: bool
    attempts: int
    language: str | None
    message_id: int | None
    borrower_last_at: datetime | None = None  # the borrower's last message (WhatsApp's window)
    # A WhatsApp template to send instead of the text: {"name", "language", "params"}.
    template: dict[str, Any] | None = None

    @classmethod
    def of(cls, d: dict[str, Any]) -> OutboundItem:
        last = d.get("borrower_last_at")
        return cls(
            id=d["id"],
            channel=d["channel"],
            user_id=d["user_id"],
            text=d.get("text") or "",
            buttons=d.get("buttons"),
            sender=d.get("sender", "system"),
            author=d.get("author"),
            resume_bot=bool(d.get("resume_bot")),
            attempts=int(d.get("attempts", 1)),
            language=d.get("language"),
            message_id=d.get("message_id"),
            borrower_last_at=datetime.fromisoformat(last) if last else None,
            template=d.get("template"),
        )


# Only calls that are safe to repeat are retried: inbound is deduplicated by its external id.
_retry_transport = retry(
    retry=retry_if_exception_type(BackendUnavailable),
    stop=stop_after_attempt(2),
    wait=wait_exponential(multiplier=0.2, max=1),
    reraise=True,
)
# A borrower's message is worth a few seconds more before it goes to the spool: a replica
# killed mid-call (502) or PostgreSQL restarting (503 for a second or two) passes by then.
INBOUND_RETRY_SECONDS = 6.0
_retry_inbound = retry(
    retry=retry_if_exception_type(BackendUnavailable),
    stop=stop_after_delay(INBOUND_RETRY_SECONDS),
    wait=wait_exponential(multiplier=0.25, max=2),
    reraise=True,
)


# Under the backend's keep-alive (75 s as the project starts it, uvicorn's default 5 s), so that
# no call goes out on a connection the backend is closing.
KEEPALIVE_SECONDS = 4.0


class BackendClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}", "X-Service-Name": "gateway"},
            timeout=timeout,
            transport=transport or AiohttpTransport(keepalive_seconds=KEEPALIVE_SECONDS),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        request_id = request_ids.current()  # the backend logs it with the call
        headers = {request_ids.HEADER: request_id} if request_id else None
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise BackendUnavailable(
                f"backend answered {response.status_code}", status=response.status_code
            )
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            detail = body.get("detail") if isinstance(body, dict) else None
            code = body.get("code", "") if isinstance(body, dict) else ""
            raise BackendRefused(response.status_code, code, str(detail or response.text[:200]))
        return response.json() if response.content else None

    @staticmethod
    def _conversation(channel: str, user_id: str) -> str:
        return f"/conversations/{quote(channel, safe='')}/{quote(user_id, safe='')}"

    @_retry_inbound
    async def inbound(
        self,
        channel: str,
        user_id: str,
        *,
        text: str,
        external_id: str | None,
        sent_at: datetime | None,
        kind: str,
    ) -> Inbound:
        body = {
            "text": text,
            "external_id": external_id,
            "sent_at": sent_at.isoformat() if sent_at else None,
            "kind": kind,
        }
        d = await self._call("POST", self._conversation(channel, user_id) + "/inbound", json=body)
        return Inbound.of(d)

    async def log_turn(
        self,
        channel: str,
        user_id: str,
        message_id: int,
        *,
        reading: dict[str, Any] | None,
        replies: list[dict[str, Any]],
    ) -> list[int]:
        """A borrower message's turn in one call: what the NLU understood of the message
        (`reading`: intent, confidence, entities) and the replies; the replies' ids in order."""
        path = f"{self._conversation(channel, user_id)}/messages/{message_id}/turn"
        logged = await self._call("POST", path, json={"reading": reading, "replies": replies})
        return [m["id"] for m in logged]

    async def log_turns(self, turns: list[dict[str, Any]]) -> None:
        """Several turns, of any chats, in one call, all or nothing: each turn as `log_turn`
        takes it, with its chat (`channel`, `user_id`) and `message_id`."""
        await self._call("POST", "/turns", json={"turns": turns})

    async def log_messages(
        self, channel: str, user_id: str, messages: list[dict[str, Any]]
    ) -> list[int]:
        """Append to the transcript (a batch, all or nothing); the ids in order."""
        path = self._conversation(channel, user_id) + "/messages"
        logged = await self._call("POST", path, json=messages)
        return [m["id"] for m in logged]

    @_retry_transport
    async def message(self, channel: str, user_id: str, message_id: int) -> dict[str, Any]:
        path = f"{self._conversation(channel, user_id)}/messages/{message_id}"
        result: dict[str, Any] = await self._call("GET", path)
        return result

    @_retry_transport
    async def message_by_external_id(
        self, channel: str, user_id: str, external_id: str
    ) -> dict[str, Any]:
        path = f"{self._conversation(channel, user_id)}/messages/by-external-id/"
        result: dict[str, Any] = await self._call("GET", path + quote(external_id, safe=""))
        return result

    @_retry_transport
    async def transcript(self, channel: str, user_id: str, *, last: int) -> list[dict[str, Any]]:
        """The chat's last `last` messages, oldest first; none for a chat never seen."""
        path = self._conversation(channel, user_id) + "/messages"
        kept: list[dict[str, Any]] = []
        after: int | None = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if after is not None:
                params["after"] = after
            try:
                page = await self._call("GET", path, params=params)
            except BackendRefused as exc:
                if exc.status == 404:
                    return []
                raise
            kept = (kept + page["messages"])[-last:]
            after = page["next_after"]
            if after is None:
                return kept

    async def claim_outbound(
        self, *, limit: int, lease_seconds: int, channels: list[str]
    ) -> list[OutboundItem]:
        body = {"limit": limit, "lease_seconds": lease_seconds, "channels": channels}
        claimed = await self._call("POST", "/outbound/claim", json=body)
        return [OutboundItem.of(d) for d in claimed]

    async def report_delivery(
        self,
        outbound_id: int,
        *,
        status: str,
        channel_message_id: str | None = None,
        error: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        body = {
            "status": status,
            "channel_message_id": channel_message_id,
            "error": error[:500] if error else None,
            "retry_after_seconds": retry_after_seconds,
        }
        await self._call("POST", f"/outbound/{outbound_id}/delivery", json=body)

    async def record_receipt(
        self, channel: str, channel_message_id: str, *, receipt: str, error: str | None = None
    ) -> None:
        body = {
            "channel": channel,
            "channel_message_id": channel_message_id,
            "receipt": receipt,
            "error": error[:500] if error else None,
        }
        await self._call("POST", "/outbound/receipts", json=body)

    async def opt_in(self, channel: str, user_id: str) -> int:
        """The borrower asks for proactive messages on this channel again; opt-outs lifted."""
        d = await self._call("POST", self._conversation(channel, user_id) + "/opt-in")
        return int(d["withdrawn"])
