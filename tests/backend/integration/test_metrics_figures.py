"""The figures /metrics reads from the database (backend/monitoring/figures.py), on SQLite and
PostgreSQL: what each one counts, and what it leaves out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from backend.monitoring.figures import DatabaseFigures, read
from backend.outbound import service as outbound
from backend.outreach.models import Reminder
from backend.types import utcnow
from backend.verification.models import VerificationFailure, VerificationLock
from tests.backend import factories

TODAY = date(2026, 4, 1)


def reminder(
    session: Session, loan: object, step: str, *, occasion: date = TODAY, **fields: object
) -> None:
    values: dict[str, object] = {
        "loan_id": loan.id,  # type: ignore[attr-defined]
        "borrower_id": loan.borrower_id,  # type: ignore[attr-defined]
        "step_id": step,
        "variant": "champion",
        "template": "t",
        "occasion": occasion,
        "not_before": utcnow() + timedelta(hours=1),
    } | fields
    session.add(Reminder(**values))
    session.flush()


def test_each_figure_counts_what_it_says(db: Session) -> None:
    now = utcnow()
    loan = factories.loan(db)
    chat = factories.conversation(db, who=loan.borrower, channel="webchat", user_id="w-1")
    waiting = outbound.enqueue(db, conversation=chat, text="你好", sender="collector")
    waiting.created_at = now - timedelta(minutes=3)
    delivered = outbound.enqueue(db, conversation=chat, text="done", sender="system")
    delivered.status = "delivered"
    reminder(db, loan, "due_now", not_before=now - timedelta(minutes=10))
    reminder(db, loan, "later")
    reminder(db, loan, "deferred", reason="contact_window", held_by="contact_window")
    reminder(db, loan, "sent", status="sent", held_by="contact_window")
    reminder(db, loan, "dropped", status="dropped", reason="daily_cap", held_by="daily_cap")
    reminder(db, loan, "yesterday", occasion=TODAY - timedelta(days=1), status="sent")
    locked = factories.conversation(db, channel="telegram", user_id="t-1")
    locked.locked_until = now + timedelta(minutes=20)
    db.add_all(
        [
            VerificationLock(
                scope="phone", phone_key="k", locked_at=now, locked_until=now + timedelta(hours=1)
            ),
            VerificationLock(  # cleared by staff: no longer in force
                scope="phone",
                phone_key="k2",
                locked_at=now,
                locked_until=now + timedelta(hours=1),
                cleared_at=now,
            ),
            VerificationLock(  # over
                scope="borrower",
                borrower_id=loan.borrower_id,
                locked_at=now - timedelta(days=2),
                locked_until=now - timedelta(days=1),
            ),
            VerificationFailure(
                at=now - timedelta(minutes=5), phone_key="k", conversation_id=chat.id
            ),
            VerificationFailure(
                at=now - timedelta(hours=2), phone_key="k", conversation_id=chat.id
            ),
        ]
    )
    db.flush()

    f = read(db, now=now, today=TODAY)

    assert f.outbox_pending == {"telegram": 0, "webchat": 1, "whatsapp": 0, "sms": 0}
    assert 179 <= f.outbox_oldest_seconds["webchat"] <= 240
    assert f.outbox_oldest_seconds["telegram"] == 0
    assert f.reminders_due == 1 and 599 <= f.reminders_oldest_due_seconds <= 660
    assert f.reminders_today == {"planned": 2, "deferred": 1, "sent": 1, "dropped": 1}
    assert f.reminders_held_today == {"contact_window": 2, "daily_cap": 1}
    assert f.locks == {"chat": 1, "phone": 1, "borrower": 0}
    assert f.failures_last_hour == 1


def test_an_empty_database_reads_as_zeros(db: Session) -> None:
    f = read(db, now=utcnow(), today=TODAY)
    assert f.reminders_today == {"planned": 0, "deferred": 0, "sent": 0, "dropped": 0}
    assert f.outbox_pending == {"telegram": 0, "webchat": 0, "whatsapp": 0, "sms": 0}
    assert f.reminders_due == 0


def test_they_are_read_at_most_once_per_max_age(db: Session) -> None:
    figures = DatabaseFigures(max_age=60)
    now: datetime = utcnow()
    figures.refresh(db, now=now, today=TODAY)
    first = figures.latest
    factories.conversation(db, channel="telegram", user_id="t-2").locked_until = now + timedelta(
        hours=1
    )
    db.flush()
    figures.refresh(db, now=now, today=TODAY)
    assert figures.latest is first  # not read again yet
    figures.max_age = 0
    figures.refresh(db, now=now, today=TODAY)
    assert figures.latest is not None and figures.latest.locks["chat"] == 1
