"""Flagging a snapshot day's loans: every open loan's facts against the signals, the flagged
ones stored (`loan_warnings`). Idempotent per day: a second run replaces the day's rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from backend.early_warning.facts import loan_facts
from backend.early_warning.models import LoanWarning
from backend.early_warning.policy import MonitoringPolicy
from backend.early_warning.signals import signals
from backend.types import utcnow


@dataclass
class FlagTally:
    as_of: date
    checked: int = 0
    flagged: int = 0
    by_signal: Counter[str] = field(default_factory=Counter)
    loan_ids: set[int] = field(default_factory=set)


def flag(session: Session, as_of: date, policy: MonitoringPolicy, *, timezone: str) -> FlagTally:
    """Flag the loans of snapshot day `as_of` (its snapshot must be taken)."""
    tally = FlagTally(as_of)
    session.execute(delete(LoanWarning).where(LoanWarning.as_of == as_of))
    rows = []
    now = utcnow()
    for facts in loan_facts(session, as_of, policy, timezone=timezone):
        tally.checked += 1
        fired = signals(facts, policy)
        if not fired:
            continue
        tally.flagged += 1
        tally.loan_ids.add(facts.loan_id)
        tally.by_signal.update(s.code for s in fired)
        rows.append(
            {
                "as_of": as_of,
                "loan_id": facts.loan_id,
                "borrower_id": facts.borrower_id,
                "signals": [s.json() for s in fired],
                "top": fired[0].code,
                "severity": len(fired),
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(LoanWarning), rows)
    return tally
