"""Cases: filed from a chat (borrower-facing, under the conversation) and followed up by staff.
Thin: parse, call the service, audit, shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.borrowers.models import Borrower
from backend.cases import handoffs, service
from backend.cases.schemas import (
    CaseCreate,
    CasePublic,
    CaseStaff,
    CaseUpdate,
    HandoffCreate,
    HandoffPublic,
    OptInResult,
)
from backend.conversations import service as conversations
from backend.conversations.paths import ChannelPath
from backend.conversations.routes import UserPath
from backend.deps import ActorDep, OnceDep, SessionDep
from backend.errors import NotFound
from backend.ids import RowId

from_chat = APIRouter(
    prefix="/conversations/{channel}/{user_id}",
    tags=["cases and handoffs"],
    responses=error_responses(403, 404),
)
router = APIRouter(prefix="/cases", tags=["cases and handoffs"], responses=error_responses(404))

_EXISTING: dict[int | str, dict[str, Any]] = {
    200: {"description": "Already open: the existing record, nothing new written"}
}


@from_chat.post(
    "/cases", response_model=CasePublic, status_code=status.HTTP_201_CREATED, responses=_EXISTING
)
def file_case(
    channel: ChannelPath,
    user_id: UserPath,
    body: CaseCreate,
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    once: OnceDep,
) -> CasePublic | JSONResponse:
    """Record a dispute, hardship report, complaint, distress flag, opt-out or contact-update
    request from this chat. Complaint, distress and opt-out work before verification; the others
    answer 403 `verification_required`. A dispute (its loan, or all loans when none is named),
    a hardship report with `hold`, and distress (all loans) pause proactive contact while open;
    an opt-out stops proactive messages on this channel until the borrower opts in. Distress
    also hands the chat to a person at once (`handoff`)."""
    if (earlier := once.earlier()) is not None:
        return earlier
    filed = service.file_from_chat(
        session,
        channel=channel,
        user_id=user_id,
        kind=body.kind,
        loan_ref=body.loan_ref,
        details=body.details,
        hold=body.hold,
    )
    if not filed.created:
        response.status_code = status.HTTP_200_OK
        return CasePublic.of(filed.case)
    audit(
        session,
        actor,
        "create",
        borrower_id=filed.case.borrower_id,
        subject=f"case {filed.case.id} {filed.case.kind}",
    )
    return once.kept(CasePublic.of(filed.case, filed.handoff), status.HTTP_201_CREATED)


@from_chat.post("/opt-in", response_model=OptInResult)
def opt_in(
    channel: ChannelPath, user_id: UserPath, session: SessionDep, actor: ActorDep
) -> OptInResult:
    """The borrower asks for proactive messages on this channel again: lifts their opt-outs."""
    conversation = conversations.find(session, channel, user_id)
    if conversation is None:
        return OptInResult(withdrawn=0)
    withdrawn = service.opt_in(session, conversation=conversation)
    for case in withdrawn:
        audit(
            session, actor, "update", borrower_id=case.borrower_id, subject=f"case {case.id} opt-in"
        )
    return OptInResult(withdrawn=len(withdrawn))


@from_chat.post(
    "/handoffs",
    response_model=HandoffPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_EXISTING,
)
def request_handoff(
    channel: ChannelPath,
    user_id: UserPath,
    body: HandoffCreate,
    session: SessionDep,
    actor: ActorDep,
    response: Response,
) -> HandoffPublic:
    """Hand this chat to a person: the conversation switches to human mode (the gateway stops
    sending it to the bot). Works before verification. A chat that already has an open handoff
    gets that one back (200), moved up the queue if the new reason is more urgent."""
    requested = handoffs.request_from_chat(
        session, channel=channel, user_id=user_id, reason=body.reason, details=body.details
    )
    if requested.created:
        audit(
            session,
            actor,
            "create",
            borrower_id=requested.handoff.borrower_id,
            subject=f"handoff {requested.handoff.id} {requested.handoff.reason}",
        )
    else:
        response.status_code = status.HTTP_200_OK
    return HandoffPublic.of(requested.handoff)


# -- staff -----------------------------------------------------------------------------------


@router.get("", response_model=list[CaseStaff])
def list_cases(
    session: SessionDep,
    actor: ActorDep,
    kind: Annotated[str | None, Query(description="dispute, hardship, complaint, ...")] = None,
    case_status: Annotated[
        str | None,
        Query(alias="status", description="open, in_progress, resolved or withdrawn"),
    ] = None,
    borrower_ref: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseStaff]:
    """Cases, newest first."""
    borrower = None
    if borrower_ref is not None:
        borrower = session.scalar(select(Borrower).where(Borrower.ref == borrower_ref))
        if borrower is None:
            raise NotFound(f"no borrower {borrower_ref!r}")
    found = service.find_cases(
        session, kind=kind, status=case_status, borrower=borrower, limit=limit
    )
    for borrower_id in sorted({c.borrower_id for c in found if c.borrower_id is not None}):
        audit(session, actor, "read", borrower_id=borrower_id, subject="cases")
    return [CaseStaff.of(c) for c in found]


@router.get("/{case_id}", response_model=CaseStaff)
def get_case(case_id: RowId, session: SessionDep, actor: ActorDep) -> CaseStaff:
    case = service.get_case(session, case_id)
    audit(session, actor, "read", borrower_id=case.borrower_id, subject=f"case {case.id}")
    return CaseStaff.of(case)


@router.patch("/{case_id}", response_model=CaseStaff, responses=error_responses(409))
def update_case(
    case_id: RowId, body: CaseUpdate, session: SessionDep, actor: ActorDep
) -> CaseStaff:
    """Move the status (open, in_progress, resolved, withdrawn), set the owner, add a note.
    A resolved or withdrawn case is final (409 `case_closed`). Resolving a dispute, distress
    flag or hardship hold lets proactive contact resume; an opt-out stays in force until the
    borrower opts in."""
    case = service.get_case(session, case_id)
    service.update_case(
        session,
        case=case,
        by=actor.name,
        status=body.status,
        owner=body.owner,
        note=body.note,
    )
    audit(session, actor, "update", borrower_id=case.borrower_id, subject=f"case {case.id}")
    return CaseStaff.of(case)
