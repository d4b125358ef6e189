"""What a channel's provider says later of a message it took (an SMS delivered to the handset,
a WhatsApp message read), written back to the backend's outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_fixed

from bot.backend_client import BackendClient, BackendRefused, BackendUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider's word on a message it took, in the backend's terms."""

    message_id: str
    receipt: str  # sent | delivered | read | failed
    error: str | None = None


def _not_yet_recorded(exc: BaseException) -> bool:
    # The receipt can overtake the gateway's own report of the delivery it is about.
    return isinstance(exc, BackendRefused) and exc.status == 404


async def forward_receipt(backend: BackendClient, channel: str, receipt: Receipt) -> None:
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_not_yet_recorded),
            stop=stop_after_attempt(5),
            wait=wait_fixed(1),
            reraise=True,
        ):
            with attempt:
                await backend.record_receipt(
                    channel, receipt.message_id, receipt=receipt.receipt, error=receipt.error
                )
    except (BackendRefused, BackendUnavailable) as exc:
        log.warning("%s receipt %s not recorded (%s)", channel, receipt.message_id, exc)
