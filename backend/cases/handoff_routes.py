"""The handoff queue, for the console and collectors: see who waits, take a chat, hand it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.cases import handoffs
from backend.cases.schemas import CloseRequest, HandoffStaff, ReplyRequest, TakeRequest
from backend.deps import ActorDep, SessionDep
from backend.ids import RowId
from backend.outbound.schemas import OutboundPublic

router = APIRouter(prefix="/handoffs", tags=["cases and handoffs"], responses=error_responses(404))


@router.get("", response_model=list[HandoffStaff])
def handoff_queue(
    session: SessionDep,
    actor: ActorDep,
    handoff_status: Annotated[
        str, Query(alias="status", description="waiting (the queue), taken or closed")
    ] = "waiting",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HandoffStaff]:
    """Waiting or taken chats in the order to serve them: distress first, then complaints and
    disputes, then the rest; longest wait first within each. Closed ones newest first."""
    found = handoffs.queue(session, status=handoff_status, limit=limit)
    borrowers = {h.conversation.borrower_id for h in found}
    for borrower_id in sorted(b for b in borrowers if b is not None):
        audit(session, actor, "read", borrower_id=borrower_id, subject="handoff queue")
    return [HandoffStaff.of(h) for h in found]


@router.get("/{handoff_id}", response_model=HandoffStaff)
def get_handoff(handoff_id: RowId, session: SessionDep, actor: ActorDep) -> HandoffStaff:
    handoff = handoffs.get_handoff(session, handoff_id)
    borrower_id = handoff.conversation.borrower_id
    audit(session, actor, "read", borrower_id=borrower_id, subject=f"handoff {handoff.id}")
    return HandoffStaff.of(handoff)


@router.post("/{handoff_id}/take", response_model=HandoffStaff, responses=error_responses(409))
def take_handoff(
    handoff_id: RowId, body: TakeRequest, session: SessionDep, actor: ActorDep
) -> HandoffStaff:
    """A collector takes the chat; the borrower is told who joined. Taking one you already have
    is harmless; one another collector has, or a closed one, is 409 (`handoff_taken`,
    `handoff_closed`)."""
    handoff = handoffs.take(
        session, handoff=handoffs.get_handoff(session, handoff_id), collector=body.collector
    )
    audit(
        session,
        actor,
        "update",
        borrower_id=handoff.conversation.borrower_id,
        subject=f"handoff {handoff.id} taken by {body.collector}",
    )
    return HandoffStaff.of(handoff)


@router.post(
    "/{handoff_id}/reply",
    response_model=OutboundPublic,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
def reply_in_handoff(
    handoff_id: RowId, body: ReplyRequest, session: SessionDep, actor: ActorDep
) -> OutboundPublic:
    """The collector who took the chat writes to the borrower: logged in the transcript and
    queued for the gateway. Another collector is 409 `not_your_handoff`; a chat not taken yet
    `handoff_waiting`, a closed one `handoff_closed`."""
    message = handoffs.reply(
        session,
        handoff=handoffs.get_handoff(session, handoff_id),
        collector=body.collector,
        text=body.text,
    )
    audit(
        session,
        actor,
        "create",
        borrower_id=message.conversation.borrower_id,
        subject=f"handoff {handoff_id} reply by {body.collector}",
    )
    return OutboundPublic.of(message)


@router.post("/{handoff_id}/close", response_model=HandoffStaff, responses=error_responses(409))
def close_handoff(
    handoff_id: RowId, body: CloseRequest, session: SessionDep, actor: ActorDep
) -> HandoffStaff:
    """Hand the chat back to the bot: the conversation returns to bot mode and the borrower is
    told (the gateway resumes the bot). Closing a closed handoff is 409 `handoff_closed`."""
    handoff = handoffs.close(
        session, handoff=handoffs.get_handoff(session, handoff_id), note=body.note
    )
    audit(
        session,
        actor,
        "update",
        borrower_id=handoff.conversation.borrower_id,
        subject=f"handoff {handoff.id} closed",
    )
    return HandoffStaff.of(handoff)
