"""Hands the outbox's SMS to the provider: the chat's user id is the E.164 number."""

from __future__ import annotations

import logging

from bot.backend_client import OutboundItem
from bot.outbound import Delivery
from bot.sms.provider import SmsProvider, SmsRefused

log = logging.getLogger(__name__)


class SmsDeliverer:
    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    async def deliver(self, item: OutboundItem) -> Delivery:
        try:
            message_id = await self.provider.send(item.user_id, item.text)
        except SmsRefused as exc:
            if exc.final:
                return Delivery("failed", error=f"{self.provider.name}: {exc}")
            return Delivery(
                "retry", error=f"{self.provider.name}: {exc}", retry_after_seconds=exc.retry_after
            )
        return Delivery("delivered", channel_message_id=message_id)
