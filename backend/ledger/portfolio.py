"""Every loan's position as of one date, streamed in chunks: for portfolio reports,
reminder planning and the benchmark. Three set-based queries per chunk, no ORM objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger.arrangement import ArrangementKind, ArrangementRow, ArrangementTerms
from backend.ledger.delinquency import Bucket
from backend.ledger.models import Arrangement, ArrangementInstallment, Installment, Loan, Payment
from backend.ledger.schedule import ScheduledInstallment
from backend.ledger.statement import PaymentRecord, statement
from backend.ledger.terms import LateCharges, LoanTerms, ScheduleType, parse_waterfall


@dataclass(frozen=True, slots=True)
class LoanPosition:
    loan_id: int
    ref: str
    total_outstanding: int
    overdue_amount: int
    dpd: int
    bucket: Bucket


def positions(session: Session, as_of: date, *, chunk: int = 5000) -> Iterator[LoanPosition]:
    last_id = 0
    while True:
        loans = session.execute(
            select(
                Loan.id,
                Loan.ref,
                Loan.principal_minor,
                Loan.annual_rate,
                Loan.term_months,
                Loan.schedule_type,
                Loan.disbursed_on,
                Loan.penalty_daily_rate,
                Loan.late_fee_minor,
                Loan.grace_days,
                Loan.waterfall,
            )
            .where(Loan.id > last_id)
            .order_by(Loan.id)
            .limit(chunk)
        ).all()
        if not loans:
            return
        low, high = loans[0].id, loans[-1].id
        schedules: dict[int, list[ScheduledInstallment]] = defaultdict(list)
        for row in session.execute(
            select(
                Installment.loan_id,
                Installment.seq,
                Installment.due_date,
                Installment.principal_minor,
                Installment.interest_minor,
            ).where(Installment.loan_id.between(low, high))
        ):
            schedules[row[0]].append(ScheduledInstallment(row[1], row[2], row[3], row[4]))
        payments: dict[int, list[PaymentRecord]] = defaultdict(list)
        for p in session.execute(
            select(
                Payment.loan_id,
                Payment.provider,
                Payment.reference,
                Payment.amount_minor,
                Payment.received_on,
            )
            .where(Payment.loan_id.between(low, high), Payment.received_on <= as_of)
            .order_by(Payment.received_on, Payment.id)
        ):
            payments[p[0]].append(PaymentRecord(f"{p[1]}:{p[2]}", p[3], p[4]))
        arrangements = _arrangements(session, low, high)
        waterfalls: dict[str, tuple] = {}  # type: ignore[type-arg]
        for loan in loans:
            waterfall = waterfalls.get(loan.waterfall) or waterfalls.setdefault(
                loan.waterfall, parse_waterfall(loan.waterfall)
            )
            terms = LoanTerms(
                principal=loan.principal_minor,
                annual_rate=loan.annual_rate,
                term_months=loan.term_months,
                schedule_type=ScheduleType(loan.schedule_type),
                disbursed_on=loan.disbursed_on,
                late_charges=LateCharges(
                    loan.penalty_daily_rate, loan.late_fee_minor, loan.grace_days
                ),
                waterfall=waterfall,
            )
            st = statement(
                terms, schedules[loan.id], payments[loan.id], as_of, arrangements.get(loan.id, [])
            )
            yield LoanPosition(
                loan.id, loan.ref, st.total_outstanding, st.overdue_amount, st.dpd, st.bucket
            )
        last_id = high


def _arrangements(session: Session, low: int, high: int) -> dict[int, list[ArrangementTerms]]:
    """The arrangements of loans low..high (few loans have any: two small queries)."""
    heads = session.execute(
        select(
            Arrangement.id,
            Arrangement.loan_id,
            Arrangement.kind,
            Arrangement.starts_on,
            Arrangement.fee_minor,
            Arrangement.grace_days,
        ).where(Arrangement.loan_id.between(low, high))
    ).all()
    if not heads:
        return {}
    rows: dict[int, list[ArrangementRow]] = defaultdict(list)
    for r in session.execute(
        select(
            ArrangementInstallment.arrangement_id,
            ArrangementInstallment.due_date,
            ArrangementInstallment.amount_minor,
        )
        .where(ArrangementInstallment.arrangement_id.in_([h.id for h in heads]))
        .order_by(ArrangementInstallment.arrangement_id, ArrangementInstallment.seq)
    ):
        rows[r[0]].append(ArrangementRow(r[1], r[2]))
    found: dict[int, list[ArrangementTerms]] = defaultdict(list)
    for h in heads:
        found[h.loan_id].append(
            ArrangementTerms(
                h.id,
                ArrangementKind(h.kind),
                h.starts_on,
                tuple(rows[h.id]),
                h.fee_minor,
                h.grace_days,
            )
        )
    return found
