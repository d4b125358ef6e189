"""API shapes for the ledger. Amounts are decimal strings in major units, with the currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from backend.iso_dates import IsoDate
from backend.ledger.models import Loan, Payment
from backend.ledger.statement import Allocation, Statement
from backend.ledger.terms import Component
from backend.money import AmountText, format_major


class BalancePublic(BaseModel):
    loan_ref: str
    currency: str
    as_of: date
    status: str = Field(description="active or paid_off")
    principal_outstanding: str
    interest_outstanding: str = Field(description="interest of installments already due")
    fees_outstanding: str
    penalty_outstanding: str
    total_outstanding: str
    accrued_interest: str = Field(description="current period's interest so far, not yet due")
    overdue_amount: str = Field(description="unpaid on installments past their due date")
    due_now: str = Field(description="unpaid on installments due today or earlier")
    credit: str = Field(description="paid in advance, applied on the next due dates")
    payoff_amount: str = Field(description="what settles the loan in full today")
    dpd: int
    bucket: str
    next_due_date: date | None
    next_due_amount: str | None
    arrangement: str | None = Field(description="the kind of the active arrangement, if any")
    waived: str = Field(description="forgiven by a completed settlement")

    @classmethod
    def of(cls, loan: Loan, st: Statement) -> BalancePublic:
        def m(minor: int) -> str:
            return format_major(minor, loan.currency)

        nxt = st.next_due
        return cls(
            loan_ref=loan.ref,
            currency=loan.currency,
            as_of=st.as_of,
            status="paid_off" if st.paid_off else "active",
            principal_outstanding=m(st.principal_outstanding),
            interest_outstanding=m(st.interest_outstanding),
            fees_outstanding=m(st.fees_outstanding),
            penalty_outstanding=m(st.penalty_outstanding),
            total_outstanding=m(st.total_outstanding),
            accrued_interest=m(st.accrued_interest),
            overdue_amount=m(st.overdue_amount),
            due_now=m(st.due_now),
            credit=m(st.credit),
            payoff_amount=m(st.payoff_amount),
            dpd=st.dpd,
            bucket=st.bucket.value,
            next_due_date=nxt[0] if nxt else None,
            next_due_amount=m(nxt[1]) if nxt else None,
            arrangement=st.active_arrangement.kind.value if st.active_arrangement else None,
            waived=m(st.waived_total),
        )


class LoanPublic(BaseModel):
    ref: str
    borrower_ref: str
    product_code: str
    currency: str
    principal: str
    annual_rate: Decimal
    term_months: int
    schedule_type: str
    penalty_daily_rate: Decimal
    late_fee: str
    grace_days: int
    waterfall: list[str]
    disbursed_on: date
    jurisdiction: str | None = Field(
        default=None, description="the contract's, set by the lender; null: the phone number's"
    )
    balance: BalancePublic

    @classmethod
    def of(cls, loan: Loan, st: Statement) -> LoanPublic:
        return cls(
            ref=loan.ref,
            borrower_ref=loan.borrower.ref,
            product_code=loan.product.code,
            currency=loan.currency,
            principal=format_major(loan.principal_minor, loan.currency),
            annual_rate=loan.annual_rate,
            term_months=loan.term_months,
            schedule_type=loan.schedule_type,
            penalty_daily_rate=loan.penalty_daily_rate,
            late_fee=format_major(loan.late_fee_minor, loan.currency),
            grace_days=loan.grace_days,
            waterfall=loan.waterfall.split(","),
            jurisdiction=loan.jurisdiction,
            disbursed_on=loan.disbursed_on,
            balance=BalancePublic.of(loan, st),
        )


class InstallmentPublic(BaseModel):
    seq: int
    due_date: date
    status: str = Field(
        description="paid, due, overdue, upcoming, or rescheduled (moved onto an arrangement)"
    )
    arrangement_id: int | None = Field(description="set on an arrangement's installments")
    principal: str
    interest: str
    fees: str
    penalty: str
    paid: str
    outstanding: str


class SchedulePublic(BaseModel):
    loan_ref: str
    currency: str
    as_of: date
    installments: list[InstallmentPublic]

    @classmethod
    def of(cls, loan: Loan, st: Statement) -> SchedulePublic:
        def m(minor: int) -> str:
            return format_major(minor, loan.currency)

        rows = []
        for i in st.installments:
            if i.restructured:
                state = "rescheduled"
            elif i.settled:
                state = "paid"
            elif i.due_date < st.as_of:
                state = "overdue"
            elif i.due_date == st.as_of:
                state = "due"
            else:
                state = "upcoming"
            rows.append(
                InstallmentPublic(
                    seq=i.seq,
                    due_date=i.due_date,
                    status=state,
                    arrangement_id=i.arrangement_id,
                    principal=m(i.owed[Component.PRINCIPAL]),
                    interest=m(i.owed[Component.INTEREST]),
                    fees=m(i.owed[Component.FEE]),
                    penalty=m(i.owed[Component.PENALTY]),
                    paid=m(sum(i.paid.values())),
                    outstanding=m(i.total_outstanding),
                )
            )
        return cls(loan_ref=loan.ref, currency=loan.currency, as_of=st.as_of, installments=rows)


class AllocationPublic(BaseModel):
    installment: int
    component: str
    amount: str


class PaymentPublic(BaseModel):
    reference: str
    provider: str
    amount: str
    currency: str
    received_on: date
    allocations: list[AllocationPublic]
    to_credit: str = Field(description="part kept as credit when the payment was received")

    @classmethod
    def of(cls, payment: Payment, allocations: list[Allocation]) -> PaymentPublic:
        cur = payment.currency
        mine = [a for a in allocations if a.reference == payment.key]
        applied = sum(a.amount for a in mine)
        return cls(
            reference=payment.reference,
            provider=payment.provider,
            amount=format_major(payment.amount_minor, cur),
            currency=cur,
            received_on=payment.received_on,
            allocations=[
                AllocationPublic(
                    installment=a.seq,
                    component=a.component.value,
                    amount=format_major(a.amount, cur),
                )
                for a in mine
            ],
            to_credit=format_major(max(payment.amount_minor - applied, 0), cur),
        )


class PaymentCreate(BaseModel):
    amount: AmountText = Field(description='In major units, e.g. "1500.00"')
    reference: str = Field(min_length=1, max_length=128, description="The provider's reference")
    provider: str = Field(default="manual", min_length=1, max_length=32)
    received_on: IsoDate | None = Field(
        default=None, description="Business date (YYYY-MM-DD); today if left out"
    )


class PaymentPosted(BaseModel):
    duplicate: bool
    message: str
    payment: PaymentPublic
    balance: BalancePublic
