"""What a proposed wording would read like to one borrower: each changed text with the figures
of a chosen loan on a business date, as the action server fills them in (the loan's balance
the way the API gives it to the actions). A figure the loan cannot give (an offer's, a date the
borrower typed) stays as {name}: the preview shows where it goes."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.ledger.schemas import BalancePublic


class _Kept(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def loan_figures(session: Session, loan: Loan, as_of: date) -> dict[str, Any]:
    """The figures the balance texts name (actions/balance.py), for this loan."""
    b = BalancePublic.of(loan, ledger.loan_statement(session, loan, as_of))
    return {
        "loan": b.loan_ref,
        "as_of": b.as_of,
        "cur": b.currency,
        "total": b.total_outstanding,
        "principal": b.principal_outstanding,
        "interest": b.interest_outstanding,
        "fees": b.fees_outstanding,
        "penalty": b.penalty_outstanding,
        "payoff": b.payoff_amount,
        "overdue": b.overdue_amount,
        "dpd": b.dpd,
        "date": b.next_due_date or "",
        "amount": b.next_due_amount or "",
        "name": loan.borrower.full_name,
    }


def filled(text: str, figures: Mapping[str, Any]) -> str:
    """`text` with the figures it names that are known; the others left as {name}."""
    try:
        return string.Formatter().vformat(text, (), _Kept(figures))
    except (ValueError, IndexError):
        return text
