"""The fixed demo borrowers: one per loan state, in both languages (README "Demo borrowers").

Dates are placed relative to the seeding day, so each borrower is in the documented state on
the day `make run` first seeds an empty database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.borrowers.identity import hash_id_number, id_last4, normalise_phone
from backend.borrowers.models import Borrower
from backend.demo.products import ensure_products
from backend.ledger.arrangement import ArrangementKind
from backend.ledger.models import Payment, Product
from backend.ledger.schedule import build_schedule, due_dates
from backend.ledger.service import get_loan, originate_loan, product_terms
from backend.money import to_minor
from backend.plans import service as plans
from backend.plans.policy import PlanPolicy
from backend.promises.models import Promise
from backend.promises.rules import PromisePolicy
from backend.promises.service import evaluate_loan


@dataclass(frozen=True)
class DemoBorrower:
    ref: str
    name: str
    language: str
    timezone: str
    phone: str
    id_number: str
    date_of_birth: date
    product: str
    principal: str  # major units
    state: str  # as in the README table
    paid_installments: int  # paid in full on their due dates
    # Where the first unpaid installment falls relative to the seeding day: negative is days
    # past due, positive is days until due. None: every installment paid (paid off).
    first_unpaid_offset: int | None
    partial_payment: tuple[int, str] | None = None  # (days ago, amount) after the first miss
    # An installment plan agreed this many days ago, its down payment paid that day.
    plan_agreed_days_ago: int | None = None
    # A promise made (days ago) to pay (amount) by (days ago), and nothing paid since.
    broken_promise: tuple[int, int, str] | None = None


DEMO_BORROWERS: tuple[DemoBorrower, ...] = (
    DemoBorrower(
        "DEMO-01",
        "王芳",
        "zh",
        "Asia/Shanghai",
        "+8613800138001",
        "11010519900307123X",
        date(1990, 3, 7),
        "CASH-12",
        "10000",
        "current",
        3,
        18,
    ),
    DemoBorrower(
        "DEMO-02",
        "Emily Chen",
        "en",
        "Asia/Singapore",
        "+6591234567",
        "S8812345D",
        date(1988, 11, 21),
        "SG-CASH-12",
        "5000",
        "due soon (in 2 days)",
        4,
        2,
    ),
    DemoBorrower(
        "DEMO-03",
        "李强",
        "zh",
        "Asia/Shanghai",
        "+8613900139003",
        "310104198502144321",
        date(1985, 2, 14),
        "CASH-12",
        "8000",
        "1-30 DPD (12 days)",
        2,
        -12,
    ),
    DemoBorrower(
        "DEMO-04",
        "David Tan",
        "en",
        "Asia/Singapore",
        "+6598765432",
        "S7923456H",
        date(1979, 8, 30),
        "CASH-6-EP",
        "6000",
        "31-60 DPD (45 days, part paid)",
        1,
        -45,
        partial_payment=(20, "500"),
    ),
    DemoBorrower(
        "DEMO-05",
        "张伟",
        "zh",
        "Asia/Shanghai",
        "+8613700137005",
        "440305198711205678",
        date(1987, 11, 20),
        "BIZ-12-IO",
        "50000",
        "61-90 DPD (75 days)",
        3,
        -75,
    ),
    DemoBorrower(
        "DEMO-06",
        "Sarah Lim",
        "en",
        "Europe/London",
        "+447700900123",
        "PA1234567",
        date(1993, 5, 2),
        "CASH-12",
        "3000",
        "91-180 DPD (120 days)",
        1,
        -120,
    ),
    DemoBorrower(
        "DEMO-07",
        "刘洋",
        "zh",
        "Asia/Shanghai",
        "+8613600136007",
        "510107199212012468",
        date(1992, 12, 1),
        "CASH-6-EP",
        "3000",
        "paid off",
        6,
        None,
    ),
    DemoBorrower(
        "DEMO-08",
        "陈静",
        "zh",
        "Asia/Shanghai",
        "+8613500135008",
        "320102198001019876",
        date(1980, 1, 1),
        "CASH-12",
        "20000",
        "180+ DPD (200 days)",
        1,
        -200,
    ),
    DemoBorrower(
        "DEMO-09",
        "Grace Ng",
        "en",
        "Asia/Singapore",
        "+6581234567",
        "S9034567J",
        date(1990, 6, 15),
        "CASH-12",
        "12000",
        "on a plan (6 months, agreed 10 days ago)",
        2,
        -60,
        plan_agreed_days_ago=10,
    ),
    DemoBorrower(
        "DEMO-10",
        "周敏",
        "zh",
        "Asia/Shanghai",
        "+8613300133010",
        "330106199105057890",
        date(1991, 5, 5),
        "CASH-12",
        "6000",
        "1-30 DPD (20 days), broken promise",
        3,
        -20,
        broken_promise=(12, 6, "600"),
    ),
)


def _disbursement_for(product: Product, paid: int, first_unpaid_due: date) -> date:
    """A disbursement date whose installment `paid + 1` falls due on `first_unpaid_due`."""
    guess = first_unpaid_due - relativedelta(months=paid + 1)
    for shift in range(0, 5):  # month-end clamping can move a due date by up to 3 days
        candidate = guess - timedelta(days=shift)
        if due_dates(candidate, paid + 1)[-1] == first_unpaid_due:
            return candidate
    return guess


def _disbursed_on(spec: DemoBorrower, product: Product, today: date) -> date:
    if spec.first_unpaid_offset is None:  # paid off: the last installment fell due 10 days ago
        return _disbursement_for(product, spec.paid_installments - 1, today - timedelta(days=10))
    return _disbursement_for(
        product, spec.paid_installments, today + timedelta(days=spec.first_unpaid_offset)
    )


def seed_demo(session: Session, *, id_hash_key: str, today: date) -> bool:
    """Seed the demo borrowers into an empty database; False (and nothing written) otherwise."""
    if session.scalar(select(func.count()).select_from(Borrower)):
        return False
    products = ensure_products(session)
    for spec in DEMO_BORROWERS:
        product = products[spec.product]
        borrower = Borrower(
            ref=spec.ref,
            full_name=spec.name,
            phone_e164=normalise_phone(spec.phone),
            id_number_hash=hash_id_number(spec.id_number, id_hash_key),
            id_last4=id_last4(spec.id_number),
            date_of_birth=spec.date_of_birth,
            language=spec.language,
            timezone=spec.timezone,
        )
        principal = to_minor(spec.principal, product.currency)
        disbursed_on = _disbursed_on(spec, product, today)
        loan = originate_loan(
            session,
            ref=f"L-{spec.ref}",
            borrower=borrower,
            product=product,
            principal=principal,
            disbursed_on=disbursed_on,
        )
        schedule = build_schedule(
            product_terms(product, principal=principal, disbursed_on=disbursed_on)
        )
        for row in schedule[: spec.paid_installments]:
            session.add(
                Payment(
                    loan_id=loan.id,
                    provider="demo",
                    reference=f"{spec.ref}-P{row.seq}",
                    amount_minor=row.amount,
                    currency=loan.currency,
                    received_on=row.due_date,
                )
            )
        if spec.partial_payment:
            days_ago, amount = spec.partial_payment
            session.add(
                Payment(
                    loan_id=loan.id,
                    provider="demo",
                    reference=f"{spec.ref}-PART",
                    amount_minor=to_minor(amount, loan.currency),
                    currency=loan.currency,
                    received_on=today - timedelta(days=days_ago),
                )
            )
        session.flush()
        if spec.plan_agreed_days_ago is not None:
            _agree_plan(session, loan.ref, today - timedelta(days=spec.plan_agreed_days_ago))
        if spec.broken_promise is not None:
            made_ago, due_ago, amount = spec.broken_promise
            session.add(
                Promise(
                    loan_id=loan.id,
                    amount_minor=to_minor(amount, loan.currency),
                    currency=loan.currency,
                    promised_date=today - timedelta(days=due_ago),
                    created_on=today - timedelta(days=made_ago),
                    source="bot",
                    recorded_by=None,
                )
            )
            session.flush()
            evaluate_loan(session, loan_id=loan.id, as_of=today, policy=PromisePolicy())
    session.flush()
    return True


def _agree_plan(session: Session, loan_ref: str, day: date) -> None:
    """A 6-month installment plan agreed on `day`, the down payment paid the same day."""
    loan = get_loan(session, loan_ref)
    made, _ = plans.offers_for(session, loan, day, PlanPolicy())
    offer = next(o for o in made if o.kind is ArrangementKind.INSTALLMENT and o.term_months == 6)
    plans.accept(
        session,
        loan=loan,
        offer_id=offer.id,
        today=day,
        policy=PlanPolicy(),
        agreed_by="bot",
        conversation=None,
    )
    session.add(
        Payment(
            loan_id=loan.id,
            provider="demo",
            reference=f"{loan_ref}-DOWN",
            amount_minor=offer.rows[0].amount,
            currency=loan.currency,
            received_on=day,
        )
    )
    session.flush()
