"""What a snapshot records of a loan, read off its replayed statement (pure).

`figures` is the reference every snapshot is checked against; `open_items` is the state the
next day's step starts from: each installment due and not settled, with its penalty unrounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from backend.ledger.statement import Statement
from backend.ledger.terms import Component


@dataclass(frozen=True, slots=True)
class Figures:
    principal: int
    interest: int
    fees: int
    penalty: int
    total: int
    overdue: int
    dpd: int
    bucket: str
    credit: int
    future_principal: int
    arrangement: str | None

    def row(self) -> dict[str, object]:
        return {
            "principal_minor": self.principal,
            "interest_minor": self.interest,
            "fees_minor": self.fees,
            "penalty_minor": self.penalty,
            "total_minor": self.total,
            "overdue_minor": self.overdue,
            "dpd": self.dpd,
            "bucket": self.bucket,
            "credit_minor": self.credit,
            "future_principal_minor": self.future_principal,
            "arrangement": self.arrangement,
        }


# The columns `Figures` compares on, in a snapshot row.
COMPARED = (
    "principal_minor",
    "interest_minor",
    "fees_minor",
    "penalty_minor",
    "total_minor",
    "overdue_minor",
    "dpd",
    "bucket",
    "credit_minor",
)


def figures(st: Statement) -> Figures:
    active = st.active_arrangement
    return Figures(
        principal=st.principal_outstanding,
        interest=st.interest_outstanding,
        fees=st.fees_outstanding,
        penalty=st.penalty_outstanding,
        total=st.total_outstanding,
        overdue=st.overdue_amount,
        dpd=st.dpd,
        bucket=st.bucket.value,
        credit=st.credit,
        future_principal=sum(
            i.outstanding(Component.PRINCIPAL) for i in st.installments if i.due_date > st.as_of
        ),
        arrangement=active.kind.value if active else None,
    )


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An installment due and unpaid on a day, as the replay leaves it."""

    seq: int
    due_date: date
    charge_on: date
    principal: int
    interest: int
    fee: int
    penalty_paid: int
    penalty_exact: Decimal
    late: bool

    def row(self, loan_id: int, *, on: date, rate: Decimal, late_fee: int) -> dict[str, object]:
        """The snapshot item it becomes, as of day `on`."""
        return {
            "loan_id": loan_id,
            "seq": self.seq,
            "due_date": self.due_date,
            "charge_on": self.charge_on,
            "principal_minor": self.principal,
            "interest_minor": self.interest,
            "fee_minor": self.fee,
            "late_fee_minor": late_fee,
            "penalty_paid_minor": self.penalty_paid,
            "penalty_base": self.penalty_exact,
            "base_on": on,
            "rate": rate,
            "late": self.late,
        }


def carried(item: Any, day: date) -> OpenItem:
    """A snapshot item as it stands on a later `day` of a stepped loan: `step.py`'s SQL, in
    Python, to check it against the replay."""
    late = item.late or item.charge_on <= day
    days = max((day - max(item.base_on, item.due_date)).days, 0)
    return OpenItem(
        seq=item.seq,
        due_date=item.due_date,
        charge_on=item.charge_on,
        principal=item.principal_minor,
        interest=item.interest_minor,
        fee=item.fee_minor + (item.late_fee_minor if late and not item.late else 0),
        penalty_paid=item.penalty_paid_minor,
        penalty_exact=item.penalty_base + item.principal_minor * item.rate * days,
        late=late,
    )


def steppable(st: Statement) -> bool:
    """Whether the next days can be computed from this one without the replay: not once an
    arrangement was made (it re-schedules the loan). A loan settled early is closed: nothing
    is left to step."""
    return not st.arrangements


def open_items(st: Statement, grace_days: int) -> list[OpenItem]:
    """The installments due by `st.as_of` with something unpaid (of a steppable statement)."""
    grace = timedelta(days=grace_days + 1)
    return [
        OpenItem(
            seq=i.seq,
            due_date=i.due_date,
            charge_on=i.due_date + grace,
            principal=i.outstanding(Component.PRINCIPAL),
            interest=i.outstanding(Component.INTEREST),
            fee=i.outstanding(Component.FEE),
            penalty_paid=i.paid[Component.PENALTY],
            penalty_exact=i.penalty_exact,
            late=i.late,
        )
        for i in st.installments
        if i.due_date <= st.as_of and not i.settled
    ]
