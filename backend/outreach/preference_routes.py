"""A borrower's own wishes about when to be contacted, said in the chat ("周末别发") and sent
by the action server: read here (`preference_text`), kept, and applied by the reminder rules
from the next decision on. Only a chat bound to a borrower can set them."""

from __future__ import annotations

from datetime import time

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.conversations.deps import BoundDep
from backend.deps import ActorDep, SessionDep
from backend.outreach import preferences
from backend.outreach.preference_text import ANY_TIME, describe, merged, read_preference
from backend.text_fields import CleanText
from backend.types import utcnow

router = APIRouter(
    prefix="/conversations/{channel}/{user_id}",
    tags=["conversations"],
    responses=error_responses(403, 404),
)


class PreferenceSaid(BaseModel):
    said: CleanText = Field(min_length=1, max_length=500, description="the borrower's words")


class PreferenceResult(BaseModel):
    recorded: bool = Field(description="False: the words name no time or day this can read")
    withdrawn: bool = Field(default=False, description="no wish is left: the profile's limits")
    window_start: time | None = None
    window_end: time | None = None
    days: list[str] | None = None
    described: dict[str, str] | None = Field(
        default=None, description="the preference in words, zh and en, to confirm it"
    )


@router.put("/contact-preference", response_model=PreferenceResult)
def set_contact_preference(
    body: PreferenceSaid, bound: BoundDep, session: SessionDep, actor: ActorDep
) -> PreferenceResult:
    """Read the borrower's words as a contact preference and keep it: what it names (days,
    hours) replaces the wish before, the rest of that stays; "any time" withdraws the wish.
    Words that name no time or day are not kept: `recorded` is false."""
    said = read_preference(body.said)
    if said is None:
        return PreferenceResult(recorded=False)
    borrower = bound.borrower
    before = preferences.preference_of(session, borrower.id)
    preference = said if before is None else merged(before[0], said)
    if said == ANY_TIME:
        preferences.forget(session, borrower_id=borrower.id)
    else:
        words = body.said if before is None else f"{before[1]} / {body.said}"
        preferences.record(
            session, borrower_id=borrower.id, preference=preference, said=words, now=utcnow()
        )
    described = describe(preference)
    audit(
        session,
        actor,
        "update",
        borrower_id=borrower.id,
        subject=f"contact preference: {described['en']}",
    )
    return PreferenceResult(
        recorded=True,
        withdrawn=said == ANY_TIME,
        window_start=preference.window.start if preference.window else None,
        window_end=preference.window.end if preference.window else None,
        days=list(preference.days) if preference.days else None,
        described=described,
    )
