"""The sandbox SMS provider for development: sends nothing, keeps the last texts in memory and
shows them on /sandbox/sms, where a text back (STOP, say) can be sent as from the phone. Every
text is "delivered" a moment after it is sent, as a provider's receipt would say."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.sms.provider import Receipt

KEEP = 200
RECEIPT_AFTER_SECONDS = 0.5


@dataclass(slots=True)
class SandboxText:
    id: str
    phone: str
    text: str
    direction: str  # out (to the borrower) | in (from the phone)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    receipt: str | None = None


class SandboxSms:
    name = "sandbox"

    def __init__(self) -> None:
        self.texts: deque[SandboxText] = deque(maxlen=KEEP)
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the gateway: where receipts go (the backend).
        self.on_receipt: Callable[[Receipt], Awaitable[None]] | None = None

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    async def send(self, to: str, text: str) -> str:
        sent = SandboxText(self._new_id("SBX"), to, text, "out")
        self.texts.appendleft(sent)
        task = asyncio.create_task(self._deliver_later(sent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return sent.id

    async def _deliver_later(self, sent: SandboxText) -> None:
        await asyncio.sleep(RECEIPT_AFTER_SECONDS)
        sent.receipt = "delivered"
        if self.on_receipt is not None:
            await self.on_receipt(Receipt(sent.id, "delivered"))

    def received(self, phone: str, text: str) -> SandboxText:
        """A text as from the phone (the page's reply form)."""
        came = SandboxText(self._new_id("SBI"), phone, text, "in")
        self.texts.appendleft(came)
        return came

    def answered(self, phone: str, text: str) -> None:
        """The gateway's automatic answer to a text, shown as the phone would get it."""
        self.texts.appendleft(SandboxText(self._new_id("SBA"), phone, text, "out"))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
