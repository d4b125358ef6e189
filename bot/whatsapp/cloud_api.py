"""The WhatsApp Cloud API's messages endpoint (Graph API, a Bearer access token). `base_url`
is Meta's Graph API address with its version, or the fake one the tests run."""

from __future__ import annotations

from typing import Any

import httpx

from bot.http_transport import AiohttpTransport

TIMEOUT_SECONDS = 15
# Meta's error codes that no retry will change: the 24-hour window is closed (131047), the
# number is not on WhatsApp or cannot get it (131026), a parameter is wrong (100, 131008,
# 131009), the template is missing or not approved (132000-132016).
_FINAL = frozenset({100, 131008, 131009, 131026, 131047, *range(132000, 132017)})
_RATE_LIMITED = frozenset({4, 80007, 130429, 131048, 131056})
OUTSIDE_WINDOW = 131047


class WhatsAppRefused(Exception):
    def __init__(
        self, reason: str, *, code: int | None, final: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.final = final
        self.retry_after = retry_after


class CloudApi:
    def __init__(
        self,
        *,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/{phone_number_id}",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport or AiohttpTransport(),
        )

    async def send(self, to: str, message: dict[str, Any]) -> str:
        """Send one message to a WhatsApp id (the number without +); its id (wamid...)."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        try:
            r = await self._client.post("/messages", json=body | message)
        except httpx.HTTPError as exc:
            raise WhatsAppRefused(
                f"not reachable ({type(exc).__name__})", code=None, final=False
            ) from exc
        if r.status_code >= 400:
            error = _error(r)
            code = error.get("code")
            reason = f"{r.status_code} {code}: {error.get('message', r.text[:200])}"
            if code in _RATE_LIMITED or r.status_code == 429:
                raise WhatsAppRefused(reason, code=code, final=False, retry_after=60)
            final = code in _FINAL or (r.status_code < 500 and code not in (None, 1, 2, 131000))
            raise WhatsAppRefused(reason, code=code, final=final)
        return str(r.json()["messages"][0]["id"])

    async def aclose(self) -> None:
        await self._client.aclose()


def _error(r: httpx.Response) -> dict[str, Any]:
    try:
        found = r.json().get("error")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
