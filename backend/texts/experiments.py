"""Experiments on the assistant's texts, as reminders have champion and challenger: a text may
have a second wording said to a share of borrowers, each borrower always the same one. The
action server assigns (by `arm_key`, which the gateway carries to it in each message's
metadata) and reports what it said; here those reports are kept and counted, and the dashboard
compares the wordings on what followed, as it does the reminders' variants."""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from backend.analytics.figures import Experiment, newcombe
from backend.analytics.period import Period, sliced
from backend.analytics.reminders import figures_of
from backend.borrowers.models import Borrower
from backend.conversations.models import Conversation
from backend.ledger.models import Loan
from backend.outreach.results import Response, SentReminder, responses
from backend.texts import service
from backend.texts.catalogue import EXPERIMENTS, OUTCOMES
from backend.texts.models import TextExposure

VARIANTS = ("champion", "challenger")
STEP_PREFIX = "text:"  # how a text's experiment is named beside the reminder steps


def arm_key(secret: str, borrower_id: int) -> str:
    """A borrower's stable, opaque key for assigning wordings: the same in every chat, and
    saying nothing about who they are (it ends up in Rasa's tracker)."""
    digest = hmac.new(secret.encode(), f"text-arm:{borrower_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def record(
    session: Session, conversation: Conversation, *, version: int, said: Sequence[tuple[str, str]]
) -> int:
    """What the action server said in one turn: (key, variant) pairs; how many were kept."""
    kept = 0
    for key, variant in said:
        if variant in VARIANTS:
            session.add(
                TextExposure(
                    version=version,
                    key=key,
                    variant=variant,
                    conversation_id=conversation.id,
                    borrower_id=conversation.borrower_id,
                )
            )
            kept += 1
    return kept


def text_experiments(session: Session, period: Period, *, results_days: int) -> list[Experiment]:
    """For each text whose wordings were said in the period (in the slice): the challenger
    against the champion. Each borrower (a chat, before it was verified) counts once, with the
    wording first said to them; converted by the experiment's outcome within `results_days`
    after it: a payment on one of their loans or a promise made on one (the default), a
    payment, a promise, or a reply in that chat."""
    chat = aliased(Conversation)
    query = sliced(
        _exposures().join(chat, chat.id == TextExposure.conversation_id)
        .outerjoin(Borrower, Borrower.id == TextExposure.borrower_id)
        .where(period.within(TextExposure.said_at)),
        period.scope, conversation=chat, borrower=Borrower,
    )  # fmt: skip
    return _compared(session, query, results_days, ZoneInfo(period.scope.timezone))


def since(
    session: Session, started: Mapping[str, int], *, results_days: int, zone: str
) -> dict[str, Experiment]:
    """Each running experiment's results since the texts version that started it (`started`:
    key -> version), whatever the business date: the Texts page's figures."""
    found = {}
    for key, version in started.items():
        query = _exposures().where(TextExposure.key == key, TextExposure.version >= version)
        for experiment in _compared(session, query, results_days, ZoneInfo(zone)):
            found[key] = experiment
    return found


def _outcomes(session: Session) -> dict[str, str]:
    """Each running experiment's outcome (one ended is counted by the default)."""
    tried = service.running(session).overrides.get(EXPERIMENTS, {})
    return {key: str(entry.get("outcome", OUTCOMES[0])) for key, entry in tried.items()}


def _worked(outcome: str, response: Response) -> bool:
    if outcome == "paid":
        return response.paid
    if outcome == "promised":
        return response.promised
    if outcome == "replied":
        return response.replied
    return response.paid or response.promised


def _exposures() -> Select:  # type: ignore[type-arg]
    return select(
        TextExposure.key,
        TextExposure.variant,
        TextExposure.borrower_id,
        TextExposure.conversation_id,
        TextExposure.said_at,
    ).order_by(TextExposure.said_at, TextExposure.id)


def _compared(
    session: Session,
    query: Select,  # type: ignore[type-arg]
    results_days: int,
    zone: ZoneInfo,
) -> list[Experiment]:
    first: dict[tuple[str, str], tuple[str, int | None, int, datetime]] = {}
    for key, variant, borrower, conversation, at in session.execute(query):
        who = f"b{borrower}" if borrower is not None else f"c{conversation}"
        first.setdefault((key, who), (variant, borrower, conversation, at))
    borrowers = {b for _, b, _, _ in first.values() if b is not None}
    loans: dict[int, list[int]] = defaultdict(list)
    if borrowers:
        for loan_id, borrower_id in session.execute(
            select(Loan.id, Loan.borrower_id).where(Loan.borrower_id.in_(borrowers))
        ):
            loans[borrower_id].append(loan_id)
    # One row per (exposure, loan) for the reminders' counting rule; an exposure converted
    # when any of its rows did.
    rows: list[tuple[tuple[str, str], SentReminder]] = []
    for (key, who), (variant, borrower, conversation, at) in first.items():
        for loan_id in loans.get(borrower, [-1]) if borrower is not None else [-1]:
            rows.append(((key, who), SentReminder(key, variant, loan_id, conversation, at)))
    found = responses(session, [r for _, r in rows], days=results_days, zone=zone)
    outcomes = _outcomes(session)
    converted: dict[tuple[str, str], bool] = defaultdict(bool)
    for (exposure, _), response in zip(rows, found, strict=True):
        outcome = outcomes.get(exposure[0], OUTCOMES[0])
        converted[exposure] = converted[exposure] or _worked(outcome, response)
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for (key, who), (variant, *_) in first.items():
        counts = tally[key][variant]
        counts[0] += 1
        counts[1] += converted[(key, who)]
    tests = []
    for key, variants in sorted(tally.items()):
        name = STEP_PREFIX + key
        champion = figures_of(name, "champion", *variants.get("champion", [0, 0]))
        challenger = figures_of(name, "challenger", *variants.get("challenger", [0, 0]))
        tests.append(
            Experiment(
                name,
                champion,
                challenger,
                newcombe(challenger.converted, challenger.sent, champion.converted, champion.sent),
            )
        )
    return tests
