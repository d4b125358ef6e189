"""What a loan's reminders would say on a business date, without planning or sending anything:
for `python -m backend outreach preview` and the console's Operations page. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from backend.ledger.models import Loan
from backend.ledger.portfolio import statements_of
from backend.ledger.statement import Statement
from backend.outreach import rules, service
from backend.outreach.facts import PromiseDates, loan_facts, promise_dates, warnings_of
from backend.outreach.first_contact import HIDDEN
from backend.outreach.policy import Step, Variant
from backend.outreach.setup import OutreachConfig
from backend.outreach.templates import buttons
from backend.types import utcnow


@dataclass(frozen=True, slots=True)
class LoanPosition:
    """A loan as the outreach rules see it on a date."""

    st: Statement
    promises: PromiseDates
    facts: rules.LoanFacts


@dataclass(frozen=True, slots=True)
class StepPreview:
    step: Step
    variant: Variant
    not_due: rules.NotDue | None  # None: the step fires for the loan on that date
    due_date: date | None  # the installment or promised date it would be about
    text: str  # rendered with the disclosure line, as it would be sent
    buttons: list[dict[str, str]]
    channel: str | None = None  # where it would go now; None: no way to reach the borrower

    @property
    def fires(self) -> bool:
        return self.not_due is None


def position(session: Session, loan: Loan, as_of: date) -> LoanPosition:
    [(_, st)] = list(statements_of(session, [loan.id], as_of))
    promises = promise_dates(session, [loan.id])[loan.id]
    facts = loan_facts(
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        today=as_of,
        st=st,
        promises=promises,
        warning=warnings_of(session, [loan.id]).get(loan.id),
    )
    return LoanPosition(st, promises, facts)


def step_preview(
    config: OutreachConfig,
    *,
    loan: Loan,
    step: Step,
    at: LoanPosition,
    language: str,
    variant: Variant | None = None,
    channel: str | None = None,
) -> StepPreview:
    """The step's message for the loan (in the variant the borrower gets unless one is named),
    rendered whether or not the step fires, so a template can be read against real figures;
    by SMS, its text with the link as the transcript shows it (no token is made)."""
    variant = variant or rules.assign_variant(loan.borrower_id, step)
    occasion = next(iter(rules.due_occasions(at.facts, [step])), None)
    due_date = occasion.due_date if occasion else None
    by_sms = channel == "sms"
    text = service.render(
        config,
        template=config.policy.sms_template(step) if by_sms else variant.template,
        due_date=due_date,
        loan=loan,
        borrower=loan.borrower,
        st=at.st,
        facts=at.facts,
        promises=at.promises,
        language=language,
        link=f"{config.chat_link.webchat_url}?start={HIDDEN}" if by_sms else None,
    )
    return StepPreview(
        step=step,
        variant=variant,
        not_due=rules.why_not_due(at.facts, step),
        due_date=due_date,
        text=text,
        buttons=[] if by_sms else buttons(step.buttons, language),
        channel=channel,
    )


def next_firing(session: Session, *, loan: Loan, step: Step, after: date, days: int) -> date | None:
    """The first day after `after`, within `days`, on which the step would fire for the loan if
    nothing changed meanwhile (no payment, no new promise): a preview that does not fire on the
    day asked says when it would."""
    for ahead in range(1, days + 1):
        day = after + timedelta(days=ahead)
        if rules.due_occasions(position(session, loan, day).facts, [step]):
            return day
    return None


def schedule_preview(
    session: Session, config: OutreachConfig, *, loan: Loan, as_of: date, language: str
) -> list[StepPreview]:
    """Every step of the schedule for the loan on `as_of`, in the schedule's order."""
    at = position(session, loan, as_of)
    channel = service.channel_now(session, config, loan, now=utcnow()).channel
    return [
        step_preview(config, loan=loan, step=step, at=at, language=language, channel=channel)
        for step in config.policy.steps
    ]
