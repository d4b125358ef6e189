"""Planning the day's reminders: candidate loans found with set-based queries on the dates
that can fire today (an indexed lookup, not a scan of the book), their positions computed in
chunks, and one reminder row per loan, step and occasion inserted once (a second run, or a run
after a crash, adds nothing)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.conversations.models import Conversation
from backend.early_warning.models import LoanWarning
from backend.ledger.models import Arrangement, ArrangementInstallment, Installment, Loan
from backend.ledger.portfolio import statements_of
from backend.outreach import rules
from backend.outreach.channels import REMINDER_CHATS
from backend.outreach.facts import loan_facts, promise_dates, warnings_of
from backend.outreach.models import Reminder
from backend.outreach.policy import OutreachPolicy
from backend.promises.models import Promise

CHUNK = 2000
_INSTALLMENT_TRIGGERS = ("before_due", "on_due", "overdue")


@dataclass(frozen=True, slots=True)
class PlanTally:
    candidates: int  # loans that could have a step today
    due: int  # reminders due today
    planned: int  # new rows (the rest were planned before)


def candidate_loans(session: Session, *, today: date, policy: OutreachPolicy) -> list[int]:
    """Loans with an installment, arrangement installment, open promise or broken promise on a
    date that one of the steps fires for today: of every borrower when reminders may go by
    SMS (the number is on the lender's record), else of those who started the bot."""
    dates = rules.occasion_dates(today, policy.steps)
    on_installments = set().union(*(dates.get(t, set()) for t in _INSTALLMENT_TRIGGERS))
    on_arrangements = on_installments | dates.get("arrangement_due", set())
    parts: list[Select[Any]] = []
    if on_installments:
        parts.append(select(Installment.loan_id).where(Installment.due_date.in_(on_installments)))
    if on_arrangements:
        parts.append(
            select(Arrangement.loan_id)
            .join(ArrangementInstallment, ArrangementInstallment.arrangement_id == Arrangement.id)
            .where(ArrangementInstallment.due_date.in_(on_arrangements))
        )
    if dates.get("promise_due"):
        parts.append(
            select(Promise.loan_id).where(
                Promise.status == "open", Promise.promised_date.in_(dates["promise_due"])
            )
        )
    if dates.get("promise_broken"):
        parts.append(
            select(Promise.loan_id).where(
                Promise.status == "broken", Promise.resolved_on.in_(dates["promise_broken"])
            )
        )
    if dates.get("warning"):
        flagged_days = {d - timedelta(days=1) for d in dates["warning"]}
        parts.append(select(LoanWarning.loan_id).where(LoanWarning.as_of.in_(flagged_days)))
    if not parts:
        return []
    found = union(*parts).subquery()
    query = select(Loan.id).where(Loan.id.in_(select(found.c[0])))
    # Without a rule that reaches the number on record, only borrowers who verified in a chat.
    if not {"sms", "whatsapp"} & set(policy.channels.order):
        query = query.where(
            exists().where(
                Conversation.borrower_id == Loan.borrower_id,
                Conversation.bound_at.is_not(None),
                Conversation.channel.in_(REMINDER_CHATS),
            )
        )
    return list(session.scalars(query.order_by(Loan.id)))


@dataclass(frozen=True, slots=True)
class Due:
    loan_id: int
    borrower_id: int
    occasion: rules.Occasion


def due_reminders(
    session: Session, *, loan_ids: list[int], today: date, policy: OutreachPolicy
) -> list[Due]:
    """Each step due today for these loans, from their positions as of today."""
    owners = dict(
        session.execute(select(Loan.id, Loan.borrower_id).where(Loan.id.in_(loan_ids))).all()
    )
    promises = promise_dates(session, loan_ids)
    warnings = warnings_of(session, loan_ids)
    due: list[Due] = []
    for loan_id, st in statements_of(session, loan_ids, today):
        facts = loan_facts(
            loan_id=loan_id,
            borrower_id=owners[loan_id],
            today=today,
            st=st,
            promises=promises[loan_id],
            warning=warnings.get(loan_id),
        )
        due.extend(
            Due(loan_id, facts.borrower_id, o) for o in rules.due_occasions(facts, policy.steps)
        )
    return due


def plan(
    session: Session,
    *,
    today: date,
    now: datetime,
    policy: OutreachPolicy,
    only: Collection[int] | None = None,
) -> PlanTally:
    """Insert today's reminders, each due to be decided from `now` (`only`: of these loans)."""
    candidates = candidate_loans(session, today=today, policy=policy)
    if only is not None:
        wanted = set(only)
        candidates = [c for c in candidates if c in wanted]
    due_count = planned = 0
    for start in range(0, len(candidates), CHUNK):
        part = candidates[start : start + CHUNK]
        rows = []
        for due in due_reminders(session, loan_ids=part, today=today, policy=policy):
            step = policy.step(due.occasion.step_id)
            variant = rules.assign_variant(due.borrower_id, step)
            rows.append(
                {
                    "loan_id": due.loan_id,
                    "borrower_id": due.borrower_id,
                    "step_id": step.id,
                    "variant": variant.name,
                    "template": variant.template,
                    "occasion": due.occasion.occasion,
                    "due_date": due.occasion.due_date,
                    "status": "planned",
                    "not_before": now,
                    "decisions": 0,
                    "created_at": now,
                }
            )
        due_count += len(rows)
        planned += _insert_new(session, rows)
    return PlanTally(candidates=len(candidates), due=due_count, planned=planned)


def _insert_new(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the rows not planned before; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(Reminder).values(rows)
    statement = statement.on_conflict_do_nothing(
        index_elements=["loan_id", "step_id", "occasion"]
    ).returning(Reminder.id)
    return len(session.execute(statement).all())
