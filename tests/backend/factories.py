"""Small builders for test data in the lender's terms."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from backend.borrowers.identity import hash_id_number
from backend.borrowers.models import Borrower
from backend.cases.handoffs import request_handoff
from backend.cases.models import Handoff
from backend.conversations.models import Conversation
from backend.ledger.models import Loan, Payment, Product
from backend.ledger.service import originate_loan
from backend.portfolio.models import SnapshotRun
from backend.staff.models import StaffUser
from backend.types import utcnow

ID_KEY = "test-id-key"


def product(session: Session, **overrides: object) -> Product:
    fields: dict[str, object] = {
        "code": "P12",
        "name": "Test cash loan",
        "currency": "CNY",
        "annual_rate": Decimal("0.12"),
        "term_months": 12,
        "schedule_type": "annuity",
        "penalty_daily_rate": Decimal("0.0005"),
        "late_fee_minor": 5000,
        "grace_days": 3,
    } | overrides
    p = Product(**fields)
    session.add(p)
    session.flush()
    return p


def borrower(session: Session, ref: str = "B1", **overrides: object) -> Borrower:
    fields: dict[str, object] = {
        "ref": ref,
        "full_name": "王芳",
        "phone_e164": "+8613800138001",
        "id_number_hash": hash_id_number("11010519900307123X", ID_KEY),
        "id_last4": "123X",
        "date_of_birth": date(1990, 3, 7),
        "language": "zh",
        "timezone": "Asia/Shanghai",
    } | overrides
    b = Borrower(**fields)
    session.add(b)
    session.flush()
    return b


def loan(
    session: Session,
    *,
    ref: str = "L1",
    principal: int = 1_200_000,
    disbursed_on: date = date(2026, 1, 15),
    prod: Product | None = None,
    who: Borrower | None = None,
) -> Loan:
    return originate_loan(
        session,
        ref=ref,
        borrower=who or borrower(session, ref=f"B-{ref}"),
        product=prod or product(session, code=f"P-{ref}"),
        principal=principal,
        disbursed_on=disbursed_on,
    )


def payment(session: Session, target: Loan, amount: int, on: date, reference: str) -> Payment:
    p = Payment(
        loan_id=target.id,
        provider="manual",
        reference=reference,
        amount_minor=amount,
        currency=target.currency,
        received_on=on,
    )
    session.add(p)
    session.flush()
    return p


def conversation(
    session: Session, *, who: Borrower | None = None, channel: str = "telegram", user_id: str = "42"
) -> Conversation:
    """A conversation, bound to `who` as verification would bind it (unbound when None)."""
    c = Conversation(channel=channel, channel_user_id=user_id)
    if who is not None:
        c.borrower = who
        c.bound_at = utcnow()
        c.bound_by = "link_token"
    session.add(c)
    session.flush()
    return c


def handoff(
    session: Session,
    *,
    conversation: Conversation,
    reason: str = "borrower_request",
    details: str = "",
    created_at: datetime | None = None,
) -> Handoff:
    """A chat handed to a person as the bot hands it; `created_at` back-dates the request."""
    h = request_handoff(session, conversation=conversation, reason=reason, details=details).handoff
    if created_at is not None:
        h.created_at = created_at
        session.flush()
    return h


def staff_user(
    session: Session, username: str = "bob", *, role: str = "collector", **overrides: object
) -> StaffUser:
    """A console user; the password hash is a placeholder (nobody logs in as them)."""
    fields: dict[str, object] = {
        "username": username,
        "display_name": username.capitalize(),
        "role": role,
        "language": "en",
        "password_hash": "not-a-hash",
        "active": True,
    } | overrides
    u = StaffUser(**fields)
    session.add(u)
    session.flush()
    return u


def snapshot_run(as_of: date, loans: int, *, holds_state: bool = False) -> SnapshotRun:
    """The record of a day's portfolio snapshot, taken by replaying `loans` loans."""
    return SnapshotRun(
        as_of=as_of,
        method="replay",
        loans=loans,
        replayed=loans,
        checked=0,
        mismatches=0,
        seconds=0.0,
        holds_state=holds_state,
    )
