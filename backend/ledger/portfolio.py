"""Every loan's position as of one date, streamed in chunks: for portfolio reports,
reminder planning and the benchmark. Three set-based queries per chunk, no ORM objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger.arrangement import ArrangementKind, ArrangementRow, ArrangementTerms
from backend.ledger.delinquency import Bucket
from backend.ledger.models import Arrangement, ArrangementInstallment, Installment, Loan, Payment
from backend.ledger.schedule import ScheduledInstallment
from backend.ledger.statement import PaymentRecord, Statement, statement
from backend.ledger.terms import LateCharges, LoanTerms, ScheduleType, parse_waterfall


@dataclass(frozen=True, slots=True)
class LoanPosition:
    loan_id: int
    ref: str
    total_outstanding: int
    overdue_amount: int
    dpd: int
    bucket: Bucket


_LOAN_COLUMNS = (
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


def positions(session: Session, as_of: date, *, chunk: int = 5000) -> Iterator[LoanPosition]:
    last_id = 0
    while True:
        loans = session.execute(
            select(*_LOAN_COLUMNS).where(Loan.id > last_id).order_by(Loan.id).limit(chunk)
        ).all()
        if not loans:
            return
        for loan, st in _statements(session, loans, as_of):
            yield LoanPosition(
                loan.id, loan.ref, st.total_outstanding, st.overdue_amount, st.dpd, st.bucket
            )
        last_id = loans[-1].id


def statements_of(
    session: Session, loan_ids: Sequence[int], as_of: date, *, chunk: int = 2000
) -> Iterator[tuple[int, Statement]]:
    """The statements of the given loans (in id order), a few set-based queries per chunk."""
    for loan, st in loan_statements(session, as_of, ids=loan_ids, chunk=chunk):
        yield loan.id, st


def loan_statements(
    session: Session, as_of: date, *, ids: Sequence[int] | None = None, chunk: int = 2000
) -> Iterator[tuple[Any, Statement]]:
    """Each loan's row (its contract terms) with its statement: of every loan disbursed by
    `as_of` when `ids` is None, else of those loans; in id order."""
    if ids is None:
        last_id = 0
        while True:
            loans = session.execute(
                select(*_LOAN_COLUMNS)
                .where(Loan.id > last_id, Loan.disbursed_on <= as_of)
                .order_by(Loan.id)
                .limit(chunk)
            ).all()
            if not loans:
                return
            yield from _statements(session, loans, as_of)
            last_id = loans[-1].id
    for part in _ledger_parts(session, as_of, ids, chunk):
        for rows in part:
            yield rows.loan, rows.statement()


@dataclass(frozen=True, slots=True)
class LedgerRows:
    """A loan's contract and ledger rows as read for a statement `as_of`: from here the
    statement is pure work, which may run off the thread holding the session."""

    loan: Any  # the row of _LOAN_COLUMNS
    terms: LoanTerms
    schedule: list[ScheduledInstallment]
    payments: list[PaymentRecord]
    arrangements: list[ArrangementTerms]
    as_of: date

    def statement(self) -> Statement:
        return statement(self.terms, self.schedule, self.payments, self.as_of, self.arrangements)


def ledger_rows(
    session: Session, as_of: date, ids: Sequence[int], *, chunk: int = 2000
) -> list[LedgerRows]:
    """What the statements of these loans `as_of` are computed from, read now (in id order)."""
    return [rows for part in _ledger_parts(session, as_of, ids, chunk) for rows in part]


def _ledger_parts(
    session: Session, as_of: date, ids: Sequence[int], chunk: int
) -> Iterator[list[LedgerRows]]:
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), chunk):
        loans = session.execute(
            select(*_LOAN_COLUMNS)
            .where(Loan.id.in_(wanted[start : start + chunk]))
            .order_by(Loan.id)
        ).all()
        if loans:
            yield _ledger_rows(session, loans, as_of)


def _statements(
    session: Session, loans: Sequence[Any], as_of: date
) -> Iterator[tuple[Any, Statement]]:
    for rows in _ledger_rows(session, loans, as_of):
        yield rows.loan, rows.statement()


def _ledger_rows(session: Session, loans: Sequence[Any], as_of: date) -> list[LedgerRows]:
    """The ledger rows of these loan rows (consecutive ids or a chosen few): three queries."""
    low, high = loans[0].id, loans[-1].id
    dense = high - low + 1 <= 2 * len(loans)
    ids = [loan.id for loan in loans]
    schedules: dict[int, list[ScheduledInstallment]] = defaultdict(list)
    for row in session.execute(
        select(
            Installment.loan_id,
            Installment.seq,
            Installment.due_date,
            Installment.principal_minor,
            Installment.interest_minor,
        ).where(Installment.loan_id.between(low, high) if dense else Installment.loan_id.in_(ids))
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
        .where(
            Payment.loan_id.between(low, high) if dense else Payment.loan_id.in_(ids),
            Payment.received_on <= as_of,
        )
        .order_by(Payment.received_on, Payment.id)
    ):
        payments[p[0]].append(PaymentRecord(f"{p[1]}:{p[2]}", p[3], p[4]))
    arrangements = _arrangements(session, ids)
    waterfalls: dict[str, tuple] = {}  # type: ignore[type-arg]
    found = []
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
            late_charges=LateCharges(loan.penalty_daily_rate, loan.late_fee_minor, loan.grace_days),
            waterfall=waterfall,
        )
        found.append(
            LedgerRows(
                loan,
                terms,
                schedules[loan.id],
                payments[loan.id],
                arrangements.get(loan.id, []),
                as_of,
            )
        )
    return found


def _arrangements(session: Session, ids: Sequence[int]) -> dict[int, list[ArrangementTerms]]:
    """The arrangements of these loans (few loans have any: two small queries)."""
    low, high = min(ids), max(ids)
    heads = session.execute(
        select(
            Arrangement.id,
            Arrangement.loan_id,
            Arrangement.kind,
            Arrangement.starts_on,
            Arrangement.fee_minor,
            Arrangement.grace_days,
        ).where(Arrangement.loan_id.between(low, high), Arrangement.loan_id.in_(ids))
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
