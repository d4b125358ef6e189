"""The rules every versioned change from the console keeps (texts, policy files): a note says
why; nobody approves their own change; and a version proposed against a running version that
has since changed is proposed again from what runs, so approving it cannot silently undo the
change that ran in between."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, Forbidden, Invalid
from backend.types import utcnow


class Decided(Protocol):
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str


def decide(version: Decided, status: str, *, by: str, note: str) -> None:
    """Record a decision on a version: approved (active) or rejected, by whom, when, why."""
    version.status = status
    version.decided_by = by
    version.decided_at = utcnow()
    version.decision_note = note.strip()


def need_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise Invalid("say why: a change needs a note", code="note_required")
    return note


def need_another_decider(proposed_by: str, by: str) -> None:
    if proposed_by == by:
        raise Forbidden("nobody approves their own change", code="own_change")


def need_current_base(base: int, running: int) -> None:
    if base != running:
        raise Conflict(
            f"proposed against version {base}, but version {running} runs now: "
            "propose it again from what runs",
            code="version_stale",
            params={"base": base, "running": running},
        )


def flush(session: Session) -> None:
    """Write a version; two people proposing or approving at the same moment (the database
    keeps numbers unique and one version running) is a conflict to retry, not an error."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "another change was made at the same moment: reload and try again",
            code="version_race",
        ) from exc
