"""One generated borrower's plan for the demo history (backend/demo/history.py): who they
are, what they pay and promise, what holds contact with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from backend.borrowers.models import Borrower
from backend.ledger.models import Loan
from backend.ledger.schedule import ScheduledInstallment
from backend.ledger.statement import PaymentRecord, Statement, statement
from backend.ledger.terms import LoanTerms


@dataclass(slots=True)
class PlannedPromise:
    made_at: datetime
    amount: int
    promised_date: date
    decide_on: date  # kept: the paying day; otherwise the day after pay-by
    source: str
    recorded_by: str | None


@dataclass(slots=True)
class Hold:
    kind: str  # opt_out | distress | dispute | hardship_hold | live_handoff
    start: datetime
    end: datetime | None  # None: in force still (an opt-out)


@dataclass(slots=True)
class Sim:
    number: int
    borrower: Borrower
    loan: Loan
    zone: ZoneInfo
    terms: LoanTerms
    schedule: list[ScheduledInstallment]
    start_state: str
    # The borrower's paying habit, kept over the loan's life, before the period and in it:
    # steady (on time), late (a few days to weeks late, caught up each month), occasional (on
    # time, now and then a month missed and caught up), slipping (later and later, then stops).
    habit: str
    lateness: int  # how many days late a late payment usually is (late, slipping)
    pays_part: bool  # once stopped, pays part of the arrears now and then
    assistant: bool  # writes to the assistant in the period
    reachable: bool  # has started the bot: reminders reach them
    channel: str
    challenger: bool  # overdue_1's challenger arm (known once the borrower has an id)
    payments: list[tuple[PaymentRecord, datetime]] = field(default_factory=list)
    promises: list[PlannedPromise] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    bound_at: datetime | None = None
    conversation_id: int = 0
    earlier: Sim | None = None  # the borrower's first loan, repaid before this one (payments only)
    part_left: int = 0  # what parts may still pay of the first installment missed (not all)
    missed_from: int = 0  # the first installment not paid before the period (its index)
    last: date = date.min  # the borrower's last local day wholly before today began (business)

    @property
    def language(self) -> str:
        return self.borrower.language

    def statement(self, as_of: date, before: datetime | None = None) -> Statement:
        records = [p for p, at in self.payments if before is None or at < before]
        return statement(self.terms, self.schedule, records, as_of, [])
