"""Pure rules for accepting a payment: validity and idempotency on the reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PostingOutcome(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"  # same reference, same loan and amount: already posted
    CONFLICT = "conflict"  # same reference, different loan or amount: refuse


@dataclass(frozen=True, slots=True)
class PostedPayment:
    loan_ref: str
    reference: str
    amount: int


def classify(existing: PostedPayment | None, incoming: PostedPayment) -> PostingOutcome:
    if existing is None:
        return PostingOutcome.NEW
    if (existing.loan_ref, existing.amount) == (incoming.loan_ref, incoming.amount):
        return PostingOutcome.DUPLICATE
    return PostingOutcome.CONFLICT


def validate_payment(*, amount: int, received_on: date, disbursed_on: date, today: date) -> None:
    """Raise ValueError with a borrower-safe reason when a payment cannot be posted."""
    if amount <= 0:
        raise ValueError("the amount must be greater than zero")
    if received_on > today:
        raise ValueError(f"received_on {received_on} is after today's business date {today}")
    if received_on < disbursed_on:
        raise ValueError(
            f"received_on {received_on} is before the loan was paid out ({disbursed_on})"
        )
