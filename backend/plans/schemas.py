"""API shapes for offers, arrangements and approval requests (amounts in major units)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from backend.ledger.arrangement import ArrangementOutcome
from backend.ledger.models import Arrangement
from backend.money import format_major
from backend.plans.models import ApprovalRequest
from backend.plans.order import FIRST_BECAUSE, FirstBecause, Ordered
from backend.plans.rules import NOT_OFFERED_CODES, NotOffered, Offer
from backend.text_fields import CleanText, StoredText


class RowPublic(BaseModel):
    due_date: date
    amount: str


class OfferPublic(BaseModel):
    id: str = Field(description="accept with this id today; tomorrow's offers have new ids")
    kind: str = Field(description="installment, extension or settlement")
    term_months: int | None
    months: int | None = Field(description="an extension's length")
    discount_share: Decimal | None
    parts: int | None
    settles: str = Field(description="what the loan owes that the offer deals with")
    fee: str
    discount: str = Field(description="waived when a settlement is paid in time")
    total: str = Field(description="what the borrower pays under it")
    installments: list[RowPublic]
    needs_approval: bool = Field(
        description="beyond the assistant's authority: a supervisor decides"
    )
    grace_days: int
    why: str
    largest_payment: str = Field(description="the most it asks for on any one date")
    sized: bool = Field(
        description="a term between the policy's, fitted to what the borrower pays a month"
    )
    fits: bool | None = Field(
        description="every payment within what the borrower has paid a month (none: nothing "
        "to go by)"
    )

    @classmethod
    def of(cls, offer: Offer, currency: str, fits: bool | None = None) -> OfferPublic:
        def m(x: int) -> str:
            return format_major(x, currency)

        return cls(
            id=offer.id,
            kind=offer.kind.value,
            term_months=offer.term_months,
            months=offer.months,
            discount_share=offer.discount_share,
            parts=offer.parts,
            settles=m(offer.settles),
            fee=m(offer.fee),
            discount=m(offer.discount),
            total=m(offer.total),
            installments=[RowPublic(due_date=r.due_date, amount=m(r.amount)) for r in offer.rows],
            needs_approval=offer.needs_approval,
            grace_days=offer.grace_days,
            why=offer.why,
            largest_payment=m(offer.largest_payment),
            sized=offer.sized,
            fits=fits,
        )


class FirstBecausePublic(BaseModel):
    code: str = Field(
        description="why the first offer is first, for the assistant to say it in the "
        "borrower's language: " + ", ".join(FIRST_BECAUSE)
    )
    params: dict[str, str | int] = Field(description="the figures the reason names")
    reason: str = Field(description="the same in English, for staff")

    @classmethod
    def of(cls, because: FirstBecause, currency: str) -> FirstBecausePublic:
        def m(x: int) -> str:
            return format_major(x, currency)

        return cls(code=because.code, params=because.figures(m), reason=because.reason(m))


class NotOfferedPublic(BaseModel):
    kind: str = Field(description="installment, extension, settlement, or any")
    code: str = Field(
        description="why, for the assistant to say it in the borrower's language: "
        + ", ".join(NOT_OFFERED_CODES)
    )
    params: dict[str, str | int] = Field(description="the figures the reason names")
    reason: str = Field(description="the same in English, for staff")

    @classmethod
    def of(cls, r: NotOffered) -> NotOfferedPublic:
        return cls(kind=r.kind, code=r.code, params=dict(r.params), reason=r.reason)


class OffersPublic(BaseModel):
    loan_ref: str
    as_of: date
    currency: str
    offers: list[OfferPublic] = Field(
        description="ordered by what the borrower has shown they can pay (first_because)"
    )
    first_because: FirstBecausePublic | None = Field(
        description="why the first offer is first; none: the policy's order"
    )
    not_offered: list[NotOfferedPublic] = Field(
        description="plan kinds the loan does not get, and why"
    )

    @classmethod
    def of(
        cls, loan_ref: str, as_of: date, currency: str, made: Ordered, refused: list[NotOffered]
    ) -> OffersPublic:
        because = made.first_because
        return cls(
            loan_ref=loan_ref,
            as_of=as_of,
            currency=currency,
            offers=[OfferPublic.of(o, currency, made.fits.get(o.id)) for o in made.offers],
            first_because=FirstBecausePublic.of(because, currency) if because else None,
            not_offered=[NotOfferedPublic.of(r) for r in refused],
        )


class ArrangementPublic(BaseModel):
    id: int
    kind: str
    starts_on: date
    status: str = Field(description="active, completed, broken or superseded, as of the date asked")
    ended_on: date | None
    settles: str
    fee: str
    discount: str
    total: str
    paid_towards: str = Field(description="payments received since it started")
    installments: list[RowPublic]
    agreed_by: str

    @classmethod
    def of(
        cls, a: Arrangement, currency: str, outcome: ArrangementOutcome | None
    ) -> ArrangementPublic:
        def m(x: int) -> str:
            return format_major(x, currency)

        return cls(
            id=a.id,
            kind=a.kind,
            starts_on=a.starts_on,
            status=outcome.status.value if outcome else "not started",
            ended_on=outcome.ended_on if outcome else None,
            settles=m(a.settles_minor),
            fee=m(a.fee_minor),
            discount=m(a.discount_minor),
            total=m(sum(i.amount_minor for i in a.installments)),
            paid_towards=m(outcome.paid_towards if outcome else 0),
            installments=[
                RowPublic(due_date=i.due_date, amount=m(i.amount_minor)) for i in a.installments
            ],
            agreed_by=a.agreed_by,
        )


class ApprovalPublic(BaseModel):
    id: int
    loan_ref: str
    status: str = Field(description="pending, approved or rejected")
    discount_share: Decimal
    parts: int
    settles: str
    discount: str
    requested_on: date
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    note: str
    arrangement_id: int | None

    @classmethod
    def of(cls, r: ApprovalRequest) -> ApprovalPublic:
        cur = r.loan.currency
        return cls(
            id=r.id,
            loan_ref=r.loan.ref,
            status=r.status,
            discount_share=r.discount_share,
            parts=r.parts,
            settles=format_major(r.settles_minor, cur),
            discount=format_major(r.discount_minor, cur),
            requested_on=r.requested_on,
            requested_by=r.requested_by,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            note=r.note,
            arrangement_id=r.arrangement_id,
        )


class AcceptOffer(BaseModel):
    offer_id: str = Field(min_length=1, max_length=40)


class StaffAcceptOffer(AcceptOffer):
    agreed_by: str = Field(
        min_length=1, max_length=80, description="the collector, e.g. collector:alice"
    )


class Accepted(BaseModel):
    status: str = Field(description="arranged, or pending_approval")
    arrangement: ArrangementPublic | None
    approval: ApprovalPublic | None


class Decision(BaseModel):
    decided_by: StoredText = Field(min_length=1, max_length=80)
    note: CleanText = Field(default="", max_length=2000)
