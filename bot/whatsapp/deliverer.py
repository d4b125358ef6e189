"""Hands the outbox's WhatsApp messages (a reminder, a collector's reply, a notice) to the Cloud
API, within WhatsApp's rule: free-form messages only within 24 hours of the borrower's last
message; an approved template (a reminder, a first contact) at any time."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.backend_client import OutboundItem
from bot.clock import utcnow
from bot.outbound import Delivery
from bot.whatsapp.cloud_api import CloudApi, WhatsAppRefused
from bot.whatsapp.render import messages, template

WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW = "outside WhatsApp's 24-hour window: the borrower has not written for a day"


def window_open(last_heard: datetime | None, now: datetime) -> bool:
    return last_heard is not None and now - last_heard < WINDOW


class WhatsAppDeliverer:
    def __init__(self, api: CloudApi) -> None:
        self.api = api

    async def deliver(self, item: OutboundItem) -> Delivery:
        if item.template is not None:
            bodies = [template(item.template)]
        elif window_open(item.borrower_last_at, utcnow()):
            bodies = messages(item.text, item.buttons or [], item.language or "zh")
        else:
            return Delivery("failed", error=OUTSIDE_WINDOW)
        sent = ""
        try:
            for body in bodies:
                sent = await self.api.send(item.user_id, body)
        except WhatsAppRefused as exc:
            if exc.final:
                return Delivery("failed", error=f"WhatsApp: {exc}")
            return Delivery("retry", error=f"WhatsApp: {exc}", retry_after_seconds=exc.retry_after)
        return Delivery("delivered", channel_message_id=sent)
