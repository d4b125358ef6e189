"""The outbox over HTTP: queue a message to a chat; the gateway claims what is due and reports
each delivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.conversations.paths import ChannelPath
from backend.conversations.routes import UserPath
from backend.deps import ActorDep, SessionDep
from backend.ids import RowId
from backend.outbound import service
from backend.outbound.schemas import (
    Claimed,
    ClaimRequest,
    DeliveryReport,
    OutboundCreate,
    OutboundPublic,
    Receipt,
)
from backend.types import utcnow

to_chat = APIRouter(
    prefix="/conversations/{channel}/{user_id}/outbound",
    tags=["outbox"],
    responses=error_responses(404),
)
gateway = APIRouter(prefix="/outbound", tags=["outbox"], responses=error_responses(404))


@to_chat.post("", response_model=OutboundPublic, status_code=status.HTTP_201_CREATED)
def queue_message(
    channel: ChannelPath,
    user_id: UserPath,
    body: OutboundCreate,
    session: SessionDep,
    actor: ActorDep,
) -> OutboundPublic:
    """Send the borrower a message: logged in the transcript now, delivered by the gateway.
    The chat must exist (404 otherwise)."""
    row = service.enqueue_to_chat(
        session,
        channel=channel,
        user_id=user_id,
        text=body.text,
        sender=body.sender,
        author=body.author,
        buttons=[b.model_dump() for b in body.buttons] if body.buttons is not None else None,
    )
    audit(
        session,
        actor,
        "create",
        borrower_id=row.conversation.borrower_id,
        subject=f"outbound message {row.id}",
    )
    return OutboundPublic.of(row)


@to_chat.get("", response_model=list[OutboundPublic])
def chat_outbox(
    channel: ChannelPath,
    user_id: UserPath,
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[OutboundPublic]:
    """The chat's outbound messages, newest first."""
    conversation, rows = service.for_chat(session, channel=channel, user_id=user_id, limit=limit)
    if conversation.borrower_id is not None:
        audit(session, actor, "read", borrower_id=conversation.borrower_id, subject="outbox")
    return [OutboundPublic.of(r) for r in rows]


@gateway.post("/claim", response_model=list[Claimed])
def claim(body: ClaimRequest, session: SessionDep) -> list[Claimed]:
    """Lease due messages to this gateway, oldest first; each is the gateway's to deliver until
    its lease runs out (then it is claimed again). A chat's messages come one at a time, in
    order: the next is claimable once the one before is reported."""
    claimed = service.claim(
        session,
        limit=body.limit,
        lease=timedelta(seconds=body.lease_seconds),
        now=utcnow(),
        channels=body.channels,
    )
    heard = service.borrower_last_heard(
        session, [r.conversation_id for r in claimed if r.conversation.channel in service.WINDOWED]
    )
    return [Claimed.of(row, heard.get(row.conversation_id)) for row in claimed]


@gateway.post(
    "/{outbound_id}/delivery", response_model=OutboundPublic, responses=error_responses(409)
)
def report_delivery(
    outbound_id: RowId, body: DeliveryReport, session: SessionDep
) -> OutboundPublic:
    """How the delivery went. delivered, stored and failed are final: the same report again is
    harmless, a different one is 409 `delivery_final`. retry queues it again (after
    retry_after_seconds, else 10 s doubling per attempt up to 10 minutes); after the 8th
    attempt it is failed."""
    row = service.report_delivery(
        session,
        outbound_id=outbound_id,
        status=body.status,
        channel_message_id=body.channel_message_id,
        error=body.error,
        retry_after=(
            timedelta(seconds=body.retry_after_seconds)
            if body.retry_after_seconds is not None
            else None
        ),
        now=utcnow(),
    )
    return OutboundPublic.of(row)


@gateway.post("/receipts", response_model=OutboundPublic)
def record_receipt(body: Receipt, session: SessionDep) -> OutboundPublic:
    """A delivery receipt from the channel (an SMS provider's status callback, through the
    gateway), found by the channel's message id; a receipt never moves back to an earlier
    state. 404 when no message of that channel has that id."""
    row = service.record_receipt(
        session,
        channel=body.channel,
        channel_message_id=body.channel_message_id,
        receipt=body.receipt,
        error=body.error,
        at=utcnow(),
    )
    return OutboundPublic.of(row)


@gateway.get("/{outbound_id}", response_model=OutboundPublic)
def get_outbound(outbound_id: RowId, session: SessionDep, actor: ActorDep) -> OutboundPublic:
    row = service.get(session, outbound_id)
    if row.conversation.borrower_id is not None:
        audit(
            session,
            actor,
            "read",
            borrower_id=row.conversation.borrower_id,
            subject=f"outbound message {row.id}",
        )
    return OutboundPublic.of(row)
