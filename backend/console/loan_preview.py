"""The Operations page's preview for one loan: what the running policy (reminder schedule and
templates, plan offers, promise limits) would do with it on a business date. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from backend.console.offer_view import OffersView, offers_view
from backend.ledger.models import Loan
from backend.ledger.repository import loan_by_ref
from backend.outreach.preview import StepPreview, schedule_preview
from backend.outreach.setup import OutreachConfig
from backend.plans.policy import PlanPolicy
from backend.promises import service as promises
from backend.promises.rules import PromisePolicy, PromiseWindow


@dataclass(frozen=True, slots=True)
class LoanPreview:
    loan: Loan
    as_of: date
    language: str
    steps: list[StepPreview]
    offers: OffersView
    promise_window: PromiseWindow
    promise_policy: PromisePolicy


def loan_preview(
    session: Session,
    *,
    loan_ref: str,
    as_of: date,
    language: str,
    outreach: OutreachConfig,
    plan_policy: PlanPolicy,
    promise_policy: PromisePolicy,
) -> LoanPreview | None:
    """None when there is no such loan. `language` empty: the borrower's own."""
    loan = loan_by_ref(session, loan_ref)
    if loan is None:
        return None
    language = language or loan.borrower.language
    return LoanPreview(
        loan=loan,
        as_of=as_of,
        language=language,
        steps=schedule_preview(session, outreach, loan=loan, as_of=as_of, language=language),
        offers=offers_view(session, loan, as_of, plan_policy),
        promise_window=promises.allowed_window(
            session, loan=loan, today=as_of, policy=promise_policy
        ),
        promise_policy=promise_policy,
    )
