"""Borrowers' own contact preferences, stored (one per borrower, the latest request stands)
and read back as the rules take them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.outreach import models
from backend.outreach.policy import WEEKDAYS, ContactPreference, ContactWindow


def _as_rule(row: models.ContactPreference) -> ContactPreference:
    window = None
    if row.window_start is not None and row.window_end is not None:
        window = ContactWindow(start=row.window_start, end=row.window_end)
    days = tuple(d for d in (row.days or "").split(",") if d in WEEKDAYS) or None
    return ContactPreference(window=window, days=days)


def preferences_of(session: Session, borrower_ids: Collection[int]) -> dict[int, ContactPreference]:
    rows = session.scalars(
        select(models.ContactPreference).where(
            models.ContactPreference.borrower_id.in_(list(borrower_ids))
        )
    )
    return {row.borrower_id: _as_rule(row) for row in rows}


def preference_of(
    session: Session, borrower_id: int
) -> tuple[ContactPreference, str, datetime] | None:
    """The borrower's preference, their words, and when they said it; None if they gave none."""
    row = session.get(models.ContactPreference, borrower_id)
    return None if row is None else (_as_rule(row), row.said, row.recorded_at)


def record(
    session: Session, *, borrower_id: int, preference: ContactPreference, said: str, now: datetime
) -> None:
    """Keep the borrower's latest request (it replaces the one before)."""
    row = session.get(models.ContactPreference, borrower_id)
    if row is None:
        row = models.ContactPreference(borrower_id=borrower_id, said=said)
        session.add(row)
    row.window_start = preference.window.start if preference.window else None
    row.window_end = preference.window.end if preference.window else None
    row.days = ",".join(preference.days) if preference.days else None
    row.said = said[-500:]  # the latest words, when several wishes add up
    row.recorded_at = now
    session.flush()


def forget(session: Session, *, borrower_id: int) -> bool:
    row = session.get(models.ContactPreference, borrower_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
