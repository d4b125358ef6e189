"""What an SMS provider does for the gateway. To add one (a Chinese SMS service, say), write a
class with `name` and `send` (raising `SmsRefused` when the provider says no), build it in
`bot.sms.setup.build_provider`, and, if it calls back, a route in `bot.sms.routes` that turns
its receipts and inbound texts into `Inbound` and `Receipt`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.receipts import Receipt

__all__ = ["Inbound", "Receipt", "SmsProvider", "SmsRefused"]


class SmsRefused(Exception):
    """The provider did not take the text. `final`: sending it again will not help (an invalid
    number); else it may be tried again, after `retry_after` seconds when the provider says."""

    def __init__(self, reason: str, *, final: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.final = final
        self.retry_after = retry_after


class SmsProvider(Protocol):
    name: str

    async def send(self, to: str, text: str) -> str:
        """Send a text to an E.164 number; the provider's id of the message."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """A text a borrower sent to the lender's number."""

    phone: str
    text: str
    message_id: str
