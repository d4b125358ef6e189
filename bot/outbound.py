"""The outbound sender: claims what the backend sends out (a collector's reply, a notice, a
reminder), delivers it on the conversation's channel, and writes the delivery back."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from bot import metrics, request_ids
from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable, OutboundItem
from bot.hub import Hub, HubUnavailable
from bot.rasa_client import RasaClient, RasaUnavailable

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
BATCH = 30  # about what Telegram lets a bot send in a second
BACKEND_DOWN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Delivery:
    status: str  # delivered | stored | retry | failed
    channel_message_id: str | None = None
    error: str | None = None
    retry_after_seconds: float | None = None


class Deliverer(Protocol):
    async def deliver(self, item: OutboundItem) -> Delivery: ...


class WebchatDeliverer:
    """Pushed to the open page; kept in the history (`stored`) when none is open."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def deliver(self, item: OutboundItem) -> Delivery:
        event: dict[str, Any] = {
            "recipient_id": item.user_id,
            "text": item.text,
            "from": item.sender,
        }
        if item.buttons:
            event["buttons"] = item.buttons
        try:
            pages = await self.hub.publish(item.user_id, event)
        except HubUnavailable as exc:  # Redis is down: the open pages get it a little later
            return Delivery("retry", error=f"push unavailable: {exc}", retry_after_seconds=5)
        return Delivery("delivered" if pages else "stored")


class OutboundSender:
    def __init__(
        self,
        backend: BackendClient,
        rasa: RasaClient,
        deliverers: dict[str, Deliverer],
        *,
        poll_seconds: float,
    ) -> None:
        self.backend = backend
        self.rasa = rasa
        self.deliverers = deliverers
        self.poll_seconds = poll_seconds

    async def run(self) -> None:
        down = False
        while True:
            try:
                sent = await self.once()
            except (BackendUnavailable, BackendRefused) as exc:
                if not down:
                    log.warning("outbound: backend unavailable (%s); waiting for it", exc)
                down, sent = True, 0
                await asyncio.sleep(BACKEND_DOWN_SECONDS)
                continue
            down = False
            if not sent:  # the backend hands out one message per chat at a time: ask again
                await asyncio.sleep(self.poll_seconds)

    async def once(self) -> int:
        items = await self.backend.claim_outbound(
            limit=BATCH, lease_seconds=LEASE_SECONDS, channels=sorted(self.deliverers)
        )
        await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def _deliver(self, item: OutboundItem) -> None:
        with request_ids.scope(request_ids.new()):  # one id per delivery, in every log line
            await self._deliver_and_report(item)

    async def _deliver_and_report(self, item: OutboundItem) -> None:
        try:
            delivery = await self.deliver(item)
        except Exception as exc:  # one bad message must not stop the others
            log.exception("outbound %d: delivery failed", item.id)
            delivery = Delivery("retry", error=type(exc).__name__)
        metrics.OUTBOUND_DELIVERIES.labels(item.channel, delivery.status).inc()
        try:
            await self.backend.report_delivery(
                item.id,
                status=delivery.status,
                channel_message_id=delivery.channel_message_id,
                error=delivery.error,
                retry_after_seconds=delivery.retry_after_seconds,
            )
        except (BackendUnavailable, BackendRefused) as exc:
            # The lease runs out and it is claimed again: at least once, never lost.
            log.warning("outbound %d: delivery not recorded (%s)", item.id, exc)

    async def deliver(self, item: OutboundItem) -> Delivery:
        deliverer = self.deliverers.get(item.channel)
        if deliverer is None:
            return Delivery("failed", error=f"{item.channel} is not enabled on the gateway")
        if item.resume_bot:  # handed back: the bot answers the next message again
            try:
                await self.rasa.resume(f"{item.channel}:{item.user_id}")
            except RasaUnavailable as exc:
                return Delivery("retry", error=f"Rasa: {exc}", retry_after_seconds=10)
        return await deliverer.deliver(item)
