"""API shapes of cases and handoffs. Borrower-facing shapes (`CasePublic`, `HandoffPublic`) carry
the record itself and nothing else about the borrower; staff shapes add who and where."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.cases import rules
from backend.cases.models import Case, Handoff
from backend.text_fields import CleanText, StoredText
from backend.types import utcnow


class CaseCreate(BaseModel):
    kind: str = Field(
        description="dispute, hardship and contact_update need a verified conversation; "
        "complaint, distress and opt_out can come from anyone",
        json_schema_extra={"enum": list(rules.CASE_KINDS)},
    )
    loan_ref: str | None = Field(
        default=None,
        max_length=32,
        description="the loan it is about (the bound borrower's own); none for distress, opt_out",
    )
    details: str = Field(default="", max_length=4000, description="in the borrower's words")
    hold: bool = Field(
        default=False, description="hardship only: pause proactive contact while it is open"
    )


class HandoffCreate(BaseModel):
    reason: str = Field(json_schema_extra={"enum": list(rules.HANDOFF_REASONS)})
    details: str = Field(default="", max_length=4000)


class HandoffPublic(BaseModel):
    id: int
    reason: str
    priority: str = Field(description="urgent (distress), high (complaint, dispute) or normal")
    status: str = Field(description="waiting, taken or closed")
    taken_by: str | None = Field(description="the collector who has the chat")
    created_at: datetime

    @classmethod
    def of(cls, h: Handoff) -> HandoffPublic:
        return cls(
            id=h.id,
            reason=h.reason,
            priority=rules.priority_label(h.reason),
            status=h.status,
            taken_by=h.taken_by,
            created_at=h.created_at,
        )


class CasePublic(BaseModel):
    id: int
    kind: str
    status: str = Field(description="open, in_progress, resolved or withdrawn")
    loan_ref: str | None
    hold: bool
    created_at: datetime
    handoff: HandoffPublic | None = Field(
        default=None, description="distress hands the chat to a person at once"
    )

    @classmethod
    def of(cls, c: Case, handoff: Handoff | None = None) -> CasePublic:
        return cls(
            id=c.id,
            kind=c.kind,
            status=c.status,
            loan_ref=c.loan.ref if c.loan else None,
            hold=c.hold,
            created_at=c.created_at,
            handoff=HandoffPublic.of(handoff) if handoff else None,
        )


class OptInResult(BaseModel):
    withdrawn: int = Field(description="opt-outs lifted: proactive messages may resume")


class CaseStaff(BaseModel):
    id: int
    kind: str
    status: str
    borrower_ref: str | None = Field(description="None: filed before the chat was verified")
    loan_ref: str | None
    channel: str
    user_id: str
    details: str
    hold: bool
    owner: str | None
    notes: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, c: Case) -> CaseStaff:
        return cls(
            id=c.id,
            kind=c.kind,
            status=c.status,
            borrower_ref=c.borrower.ref if c.borrower else None,
            loan_ref=c.loan.ref if c.loan else None,
            channel=c.conversation.channel,
            user_id=c.conversation.channel_user_id,
            details=c.details,
            hold=c.hold,
            owner=c.owner,
            notes=c.notes,
            created_at=c.created_at,
            updated_at=c.updated_at,
            closed_at=c.closed_at,
        )


class CaseUpdate(BaseModel):
    status: str | None = Field(default=None, json_schema_extra={"enum": list(rules.CASE_STATUSES)})
    owner: str | None = Field(default=None, min_length=1, max_length=100)
    note: CleanText | None = Field(default=None, max_length=4000)


class HandoffStaff(HandoffPublic):
    channel: str
    user_id: str
    borrower_ref: str | None = Field(description="None: the chat is not verified")
    case_id: int | None
    details: str
    taken_at: datetime | None
    closed_at: datetime | None
    close_note: str
    waiting_seconds: int = Field(
        description="how long the borrower waited for a person: until taken, or so far"
    )

    @classmethod
    def of(cls, h: Handoff) -> HandoffStaff:
        return cls(
            **HandoffPublic.of(h).model_dump(),
            channel=h.conversation.channel,
            user_id=h.conversation.channel_user_id,
            borrower_ref=h.conversation.borrower.ref if h.conversation.borrower else None,
            case_id=h.case_id,
            details=h.details,
            taken_at=h.taken_at,
            closed_at=h.closed_at,
            close_note=h.close_note,
            waiting_seconds=rules.waited_seconds(
                h.created_at, taken_at=h.taken_at, closed_at=h.closed_at, now=utcnow()
            ),
        )


class TakeRequest(BaseModel):
    collector: str = Field(min_length=1, max_length=100, description="the console user")


class CloseRequest(BaseModel):
    note: CleanText = Field(default="", max_length=4000)


class ReplyRequest(BaseModel):
    collector: StoredText = Field(min_length=1, max_length=100, description="who has the chat")
    text: CleanText = Field(min_length=1, max_length=4000)
