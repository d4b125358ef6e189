"""Today's offers as the console shows them: in the order the borrower is shown them, with
why the first comes first (plans/order.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from backend.ledger.models import Loan
from backend.money import to_major
from backend.plans import service as plans
from backend.plans.policy import PlanPolicy
from backend.plans.rules import NotOffered, Offer


@dataclass(frozen=True, slots=True)
class OffersView:
    offers: list[Offer]
    not_offered: list[NotOffered]
    first_key: str | None = None  # the i18n key saying why the first is first
    first_figures: dict[str, str | int] = field(default_factory=dict)


def offers_view(session: Session, loan: Loan, as_of: date, policy: PlanPolicy) -> OffersView:
    ordered, refused = plans.ordered_offers(session, loan, as_of, policy)
    because = ordered.first_because
    if because is None or len(ordered.offers) < 2:
        return OffersView(ordered.offers, refused)
    figures = because.figures(lambda minor: f"{to_major(minor, loan.currency):,} {loan.currency}")
    return OffersView(ordered.offers, refused, f"plan.first_because.{because.code}", figures)
