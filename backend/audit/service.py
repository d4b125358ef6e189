"""Writing the audit log: one call at each place borrower data is read or changed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting and through what: taken from the request, never from its body."""

    name: str  # "service:actions", "user:alice", "cli"
    via: str  # "GET /api/v1/conversations/telegram/42/balance", "python -m backend ..."


def audit(
    session: Session, actor: Actor, action: str, *, borrower_id: int | None, subject: str
) -> None:
    session.add(
        AuditEntry(
            actor=actor.name, action=action, borrower_id=borrower_id, subject=subject, via=actor.via
        )
    )
