"""The dashboard's figures for one scope, each section from its own module (their docstrings
say how a day is counted and how the channel/language slice applies). Read-only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.analytics.chats import chat_days
from backend.analytics.delinquency import transitions
from backend.analytics.figures import Dashboard, Scope
from backend.analytics.nlu import corrections, nlu_days
from backend.analytics.period import Period
from backend.analytics.promises import amounts, promise_days
from backend.analytics.reminders import experiments, reminder_days
from backend.texts.experiments import text_experiments


def build(
    session: Session, scope: Scope, *, fallback_threshold: float = 0.6, results_days: int = 7
) -> Dashboard:
    """`fallback_threshold`: a reading below it counts as a fallback (the NLU's own threshold);
    `results_days`: a payment or promise this many days after a reminder converts it."""
    period = Period(scope)
    chats, chat_total = chat_days(session, period)
    promises, promise_total = promise_days(session, period)
    reminders, reminder_total = reminder_days(session, period)
    nlu, nlu_total = nlu_days(session, period, threshold=fallback_threshold)
    return Dashboard(
        scope=scope,
        chats=chats,
        chat_total=chat_total,
        promises=promises,
        promise_total=promise_total,
        amounts=amounts(session, period),
        transitions=transitions(session, period),
        reminders=reminders,
        reminder_total=reminder_total,
        experiments=[
            *experiments(session, period, results_days=results_days),
            *text_experiments(session, period, results_days=results_days),
        ],
        nlu=nlu,
        nlu_total=nlu_total,
        corrections=corrections(session, period),
    )
