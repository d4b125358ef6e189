"""Deciding and sending planned reminders: each one re-checked against the loan as it is now,
then put to the compliance rules (`rules.decide`) for its borrower's time zone, profile,
history and holds; sent through the outbox (the gateway delivers it within Telegram's limits),
deferred to the next allowed time, or dropped with the reason. Flushes, never commits."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backend.borrowers.models import Borrower
from backend.cases.models import Case
from backend.cases.service import ContactHolds, contact_holds
from backend.conversations.models import Conversation
from backend.ledger.models import Loan
from backend.ledger.portfolio import statements_of
from backend.ledger.statement import Statement
from backend.money import format_major
from backend.outbound import service as outbound
from backend.outbound.sms_length import measure
from backend.outreach import channels, first_contact, rules
from backend.outreach.facts import PromiseDates, Warning, loan_facts, promise_dates, warnings_of
from backend.outreach.models import Reminder, ReminderDecision
from backend.outreach.policy import (
    ContactPreference,
    Profile,
    Step,
    disclosure_for,
    sms_opt_out_for,
)
from backend.outreach.preferences import preferences_of
from backend.outreach.setup import OutreachConfig
from backend.outreach.templates import buttons as button_list
from backend.risk.models import LoanScore

BATCH = 500
_WHATSAPP = "whatsapp"


@dataclass(frozen=True, slots=True)
class Outcome:
    reminder_id: int
    loan_ref: str
    step_id: str
    variant: str
    action: str  # send | defer | drop
    reason: str | None
    not_before: datetime | None  # defer: when it is tried again
    channel: str | None
    text: str  # what was (or would be) sent; empty when not sent


@dataclass(slots=True)
class DispatchTally:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(o.action == action for o in self.outcomes)


def due_now(
    session: Session, *, now: datetime, limit: int, only: Collection[int] | None = None
) -> list[Reminder]:
    """Planned reminders whose time has come, oldest first and, among those due at the same
    moment, the loan most likely to roll to a worse bucket first (its latest roll_30 score):
    when a cap or a channel's rate lets only some through, those go (`only`: of these loans).
    On PostgreSQL each is claimed by one dispatcher only (SKIP LOCKED)."""
    risk = (
        select(LoanScore.roll_30)
        .where(LoanScore.loan_id == Reminder.loan_id)
        .order_by(LoanScore.as_of.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Reminder)
        .where(Reminder.status == "planned", Reminder.not_before <= now)
        .order_by(Reminder.not_before, func.coalesce(risk, -1.0).desc(), Reminder.id)
        .limit(limit)
    )
    if only is not None:
        query = query.where(Reminder.loan_id.in_(list(only)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def dispatch(
    session: Session,
    *,
    today: date,
    now: datetime,
    config: OutreachConfig,
    limit: int = BATCH,
    only: Collection[int] | None = None,
) -> DispatchTally:
    """Decide every reminder due at `now` (business date `today`; `only`: of these loans)."""
    tally = DispatchTally()
    reminders = due_now(session, now=now, limit=limit, only=only)
    if not reminders:
        return tally
    loan_ids = sorted({r.loan_id for r in reminders})
    loans = {
        loan.id: loan
        for loan in session.scalars(
            select(Loan).where(Loan.id.in_(loan_ids)).options(selectinload(Loan.borrower))
        )
    }
    statements = dict(statements_of(session, loan_ids, today))
    promises = promise_dates(session, loan_ids)
    warnings = warnings_of(session, loan_ids)
    borrower_ids = {r.borrower_id for r in reminders}
    holds = contact_holds(session, borrower_ids)
    reach = _reach(session, borrower_ids, holds, whatsapp=_on_whatsapp(config, loans.values()))
    history = _history(session, borrower_ids, now)
    wishes = preferences_of(session, borrower_ids)
    for reminder in reminders:
        loan = loans[reminder.loan_id]
        decision = _decide_one(
            session,
            reminder=reminder,
            loan=loan,
            st=statements[loan.id],
            promises=promises[loan.id],
            warning=warnings.get(loan.id),
            reach=reach[reminder.borrower_id],
            history=history[reminder.borrower_id],
            holds=holds,
            preference=wishes.get(reminder.borrower_id),
            today=today,
            now=now,
            config=config,
        )
        if decision.action == "send":
            history[reminder.borrower_id].append(now)
        tally.outcomes.append(
            Outcome(
                reminder_id=reminder.id,
                loan_ref=loan.ref,
                step_id=reminder.step_id,
                variant=reminder.variant,
                action=decision.action,
                reason=decision.reason,
                not_before=decision.not_before,
                channel=decision.channel,
                text=decision.text,
            )
        )
    session.flush()
    return tally


@dataclass(frozen=True, slots=True)
class _Decision:
    action: str
    reason: str | None = None
    not_before: datetime | None = None
    text: str = ""
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class _Reach:
    """Where a borrower can be reached (`channels.Reach`) and their latest verified chats."""

    facts: channels.Reach
    chat: Conversation | None
    whatsapp_chat: Conversation | None = None  # their latest verified WhatsApp chat


def _record_drop(
    session: Session, reminder: Reminder, now: datetime, reason: str, checks: dict[str, Any]
) -> None:
    """A drop no compliance rule made (the loan, the channel, the text): on the record too."""
    session.add(
        ReminderDecision(
            reminder_id=reminder.id,
            borrower_id=reminder.borrower_id,
            decided_at=now,
            action="drop",
            reason=reason,
            checks=json.dumps(checks),
        )
    )


def _decide_one(
    session: Session,
    *,
    reminder: Reminder,
    loan: Loan,
    st: Statement,
    promises: PromiseDates,
    warning: Warning | None,
    reach: _Reach,
    history: list[datetime],
    holds: ContactHolds,
    preference: ContactPreference | None,
    today: date,
    now: datetime,
    config: OutreachConfig,
) -> _Decision:
    reminder.decisions += 1
    reminder.decided_at = now
    step = config.policy.step(reminder.step_id)
    facts = loan_facts(
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        today=today,
        st=st,
        promises=promises,
        warning=warning,
    )
    # Paid, or the promise kept, since it was planned: the message would be wrong, not late.
    if not _still_applies(facts, reminder, step):
        _record_drop(session, reminder, now, "no_longer_due", {"dpd": facts.dpd})
        return _drop(reminder, "no_longer_due", by_rule=False)
    borrower = loan.borrower
    choice = config.compliance.choose(contract=loan.jurisdiction, phone_e164=borrower.phone_e164)
    profile = config.compliance.profile_of(choice)
    rules_of = config.policy.channels
    way = _channel(config, profile, reach.facts, now)
    tried = {"rule": way.rule, "tried": [[t.rule, t.outcome] for t in way.tried]}
    # With every way closed by the borrower's own opt-out, the opt-out rule drops it below.
    channel = way.channel or channels.opted_out_channel(way, reach.facts)
    reminder.channel, reminder.channel_rule = channel, way.rule
    if channel is None:
        _record_drop(session, reminder, now, "no_channel", {"dpd": facts.dpd, "channel": tried})
        return _drop(reminder, "no_channel", by_rule=False)
    reminder.profile, reminder.jurisdiction = choice.name, choice.region
    reminder.jurisdiction_source = choice.source
    question: dict[str, Any] = {
        "now": now,
        "timezone": borrower.timezone,
        "profile": profile,
        "history": rules.History(tuple(history)),
        # Their opt-outs include one said on the number before it verified (WhatsApp).
        "hold": holds.hold(borrower_id=borrower.id, channel=channel, loan_id=loan.id)
        or ("opt_out" if channel in reach.facts.opted_out else None),
        "occasion": reminder.occasion,
        "valid_days": step.valid_days,
        "dpd": facts.dpd,
        "preference": preference,
    }
    verdict = rules.decide(**question)
    session.add(
        ReminderDecision(
            reminder_id=reminder.id,
            borrower_id=borrower.id,
            decided_at=now,
            action=verdict.action,
            reason=verdict.reason,
            not_before=verdict.not_before,
            profile=choice.name,
            jurisdiction=choice.region,
            jurisdiction_source=choice.source,
            checks=json.dumps({"dpd": facts.dpd, "channel": tried, **rules.checks(**question)}),
        )
    )
    if verdict.action == "drop":
        return _drop(reminder, verdict.reason)
    if verdict.action == "defer":
        assert verdict.not_before is not None
        reminder.reason = verdict.reason
        reminder.held_by = reminder.held_by or verdict.reason
        reminder.not_before = verdict.not_before
        return _Decision("defer", verdict.reason, verdict.not_before, channel=channel)
    by_sms = channel == "sms"
    conversation = _conversation_for(session, channel, borrower, reach, now)
    language = outbound.language_for(conversation)
    template = None
    if channel == _WHATSAPP and not _window_open(session, conversation, now):
        # Outside WhatsApp's 24 hours only an approved template goes, with its figures.
        values = template_values(
            loan=loan,
            borrower=borrower,
            st=st,
            facts=facts,
            promises=promises,
            due_date=reminder.due_date,
        )
        filled = config.whatsapp.fill(config.policy.whatsapp_template(step), language, values)
        text, template = filled.text, filled.as_json()
    else:
        text = render(
            config,
            template=config.policy.sms_template(step) if by_sms else reminder.template,
            due_date=reminder.due_date,
            loan=loan,
            borrower=borrower,
            st=st,
            facts=facts,
            promises=promises,
            language=language,
            link=config.chat_link.issue(session, borrower) if by_sms else None,
        )
    if by_sms and (length := measure(text)).segments > rules_of.sms.max_segments:
        # A wording operations must shorten (outreach_templates.yml): never cut a text short.
        reason = "sms_too_long"
        _record_drop(session, reminder, now, reason, {"segments": length.segments})
        return _drop(reminder, reason, by_rule=False)
    message = outbound.enqueue(
        session,
        conversation=conversation,
        text=text,
        sender="system",
        author=f"outreach:{reminder.step_id}",
        buttons=None if by_sms or template else button_list(step.buttons, language) or None,
        logged_text=first_contact.hide_tokens(text) if by_sms else None,
        template=template,
    )
    reminder.status = "sent"
    reminder.reason = None
    reminder.sent_at = now
    reminder.conversation_id = conversation.id
    reminder.outbound_id = message.id
    shown = first_contact.hide_tokens(text) if by_sms else text
    return _Decision("send", text=shown, channel=channel)


def _conversation_for(
    session: Session, channel: str, borrower: Borrower, reach: _Reach, now: datetime
) -> Conversation:
    """The conversation a reminder on this channel goes out in."""
    if channel == "sms":
        return first_contact.sms_conversation(session, borrower, now=now)
    if channel == _WHATSAPP:
        assert reach.facts.whatsapp_id is not None  # the whatsapp rule found one
        return reach.whatsapp_chat or first_contact.whatsapp_conversation(
            session, borrower, reach.facts.whatsapp_id
        )
    assert reach.chat is not None  # a chat channel was chosen
    return reach.chat


def _window_open(session: Session, conversation: Conversation, now: datetime) -> bool:
    """Whether WhatsApp lets a free-form message go to this chat now (within 24 hours of the
    borrower's last message)."""
    last = outbound.borrower_last_heard(session, [conversation.id]).get(conversation.id)
    return last is not None and now - last < outbound.WHATSAPP_WINDOW


def _channel(
    config: OutreachConfig, profile: Profile, reach: channels.Reach, now: datetime
) -> channels.Choice:
    rules_of = config.policy.channels
    return channels.choose(
        rules_of.order,
        reach,
        allowed=profile.channels,
        now=now,
        recent_days=rules_of.recent_chat_days,
    )


def channel_now(
    session: Session, config: OutreachConfig, loan: Loan, *, now: datetime
) -> channels.Choice:
    """The channel a reminder about this loan would take now (for previews)."""
    borrower_ids = {loan.borrower_id}
    holds = contact_holds(session, borrower_ids)
    whatsapp = _on_whatsapp(config, [loan])
    reach = _reach(session, borrower_ids, holds, whatsapp=whatsapp)[loan.borrower_id]
    choice = config.compliance.choose(
        contract=loan.jurisdiction, phone_e164=loan.borrower.phone_e164
    )
    return _channel(config, config.compliance.profile_of(choice), reach.facts, now)


def _still_applies(facts: rules.LoanFacts, reminder: Reminder, step: Step) -> bool:
    """Whether what the reminder is about still stands: on its own day, the step still fires;
    later (it was deferred), the date it names is still unpaid, or the loan still late."""
    if facts.today == reminder.occasion:
        return any(o.step_id == step.id for o in rules.due_occasions(facts, [step]))
    day = reminder.due_date
    if step.trigger in ("before_due", "on_due"):
        return day in facts.unpaid_due_dates
    if step.trigger == "arrangement_due":
        return day in facts.arrangement_due_dates
    if step.trigger == "promise_due":
        return facts.open_promise_date == day
    if step.trigger == "warning":
        return not facts.paid_off  # a loan flagged at risk, even while not yet late
    return not facts.paid_off and facts.dpd > 0  # overdue, promise_broken


def _drop(reminder: Reminder, reason: str | None, *, by_rule: bool = True) -> _Decision:
    """`by_rule`: a compliance rule dropped it (counted as held), not the loan's own state."""
    reminder.status = "dropped"
    reminder.reason = reason
    if by_rule:
        reminder.held_by = reminder.held_by or reason
    return _Decision("drop", reason)


def render(
    config: OutreachConfig,
    *,
    template: str,
    due_date: date | None,
    loan: Loan,
    borrower: Borrower,
    st: Statement,
    facts: rules.LoanFacts,
    promises: PromiseDates,
    language: str,
    link: str | None = None,
) -> str:
    """The reminder's template with the loan's figures as of now, plus the jurisdiction's
    disclosure line when its profile has one; an SMS (`link`: the address that opens the chat)
    also gets its opt-out instruction where the profile requires one."""
    values = template_values(
        loan=loan, borrower=borrower, st=st, facts=facts, promises=promises, due_date=due_date
    )
    text = config.templates.render(template, language, values | {"link": link or ""})
    choice = config.compliance.choose(contract=loan.jurisdiction, phone_e164=borrower.phone_e164)
    profile = config.compliance.profile_of(choice)
    lines = [disclosure_for(profile, language)]
    if link is not None:
        lines.append(sms_opt_out_for(profile, language))
    for line in filter(None, lines):
        text = f"{text}\n\n{line}" if link is None else f"{text} {line}"
    return text


def template_values(
    *,
    loan: Loan,
    borrower: Borrower,
    st: Statement,
    facts: rules.LoanFacts,
    promises: PromiseDates,
    due_date: date | None,
) -> dict[str, str]:
    """Every variable a template may name (templates.VARIABLES), for one loan as of its
    statement's date; those that do not apply are empty."""
    cur = loan.currency

    def money(minor: int) -> str:
        return format_major(minor, cur)

    if due_date is not None and due_date >= st.as_of:
        amount_due = facts.amount_due_on.get(due_date, 0)
    else:
        amount_due = st.due_now
    promise = promises.open_promise
    nxt = st.next_due
    return {
        "name": borrower.full_name,
        "loan_ref": loan.ref,
        "currency": cur,
        "amount_due": money(amount_due),
        "due_date": due_date.isoformat() if due_date else "",
        "days_to_due": str((due_date - st.as_of).days) if due_date else "",
        "dpd": str(st.dpd),
        "overdue_amount": money(st.overdue_amount),
        "payoff_amount": money(st.payoff_amount),
        "promise_amount": money(promise[1]) if promise else "",
        "promise_date": promise[0].isoformat() if promise else "",
        "installment_amount": money(nxt[1]) if nxt else "",
        "installment_date": nxt[0].isoformat() if nxt else "",
    }


def _on_whatsapp(config: OutreachConfig, loans: Iterable[Loan]) -> set[int]:
    """The borrowers of these loans the whatsapp rule may reach: their profile lists WhatsApp
    (none when the order has no whatsapp rule)."""
    if _WHATSAPP not in config.policy.channels.order:
        return set()
    compliance = config.compliance
    return {
        loan.borrower_id
        for loan in loans
        if _WHATSAPP
        in compliance.profile_of(
            compliance.choose(contract=loan.jurisdiction, phone_e164=loan.borrower.phone_e164)
        ).channels
    }


def _reach(
    session: Session, borrower_ids: set[int], holds: ContactHolds, *, whatsapp: set[int]
) -> dict[int, _Reach]:
    """Where each borrower can be reached: the chat they most recently verified in (a bot may
    only write to people who started it) and when they were last there (verified, or wrote),
    their number on the lender's record (unless another borrower's record has it too), their
    opt-outs, and for those in `whatsapp` where WhatsApp reaches them."""
    chats: dict[int, Conversation] = {}
    wa_chats: dict[int, Conversation] = {}
    looked_at = channels.REMINDER_CHATS + ((_WHATSAPP,) if whatsapp else ())
    for verified in session.scalars(
        select(Conversation)
        .where(
            Conversation.borrower_id.in_(borrower_ids),
            Conversation.bound_at.is_not(None),
            Conversation.channel.in_(looked_at),
        )
        .order_by(Conversation.bound_at.desc(), Conversation.id.desc())
    ):
        assert verified.borrower_id is not None
        if verified.channel != _WHATSAPP:
            chats.setdefault(verified.borrower_id, verified)
        elif verified.borrower_id in whatsapp:
            wa_chats.setdefault(verified.borrower_id, verified)
    heard = outbound.borrower_last_heard(session, [c.id for c in chats.values()])
    phones = dict(
        session.execute(
            select(Borrower.id, Borrower.phone_e164).where(Borrower.id.in_(borrower_ids))
        ).all()
    )
    shared = set(
        session.scalars(
            select(Borrower.phone_e164)
            .where(Borrower.phone_e164.in_(set(phones.values())))
            .group_by(Borrower.phone_e164)
            .having(func.count() > 1)
        )
    )
    on_whatsapp = _whatsapp_reach(session, whatsapp, wa_chats, phones, shared) if whatsapp else {}
    found: dict[int, _Reach] = {}
    for borrower_id in borrower_ids:
        chat = chats.get(borrower_id)
        phone = phones.get(borrower_id)
        # Not looked up: their profile does not list WhatsApp.
        nowhere = (None, "none" if borrower_id in whatsapp else "not_allowed", False)
        wa_id, wa_missing, wa_opted_out = on_whatsapp.get(borrower_id, nowhere)
        facts = channels.Reach(
            chat_channel=chat.channel if chat else None,
            chat_last_heard=max(filter(None, (heard.get(chat.id), chat.bound_at)))
            if chat
            else None,
            phone=phone,
            opted_out=holds.opted_out(borrower_id) | ({_WHATSAPP} if wa_opted_out else set()),
            phone_shared=phone in shared,
            whatsapp_id=wa_id,
            whatsapp_missing=wa_missing,
        )
        found[borrower_id] = _Reach(facts, chat, wa_chats.get(borrower_id))
    return found


def _whatsapp_reach(
    session: Session,
    borrower_ids: set[int],
    verified: dict[int, Conversation],
    phones: dict[int, str],
    shared: set[str],
) -> dict[int, tuple[str | None, str, bool]]:
    """Per borrower: the WhatsApp id to write to (their verified WhatsApp chat's, else their
    number's) or None and why not, and whether that number said STOP on WhatsApp before it
    verified (the opt-out of whoever holds the number stands)."""
    wanted: dict[int, str] = {}
    found: dict[int, tuple[str | None, str, bool]] = {}
    for borrower_id in borrower_ids:
        chat = verified.get(borrower_id)
        phone = phones.get(borrower_id)
        if chat is not None:
            wanted[borrower_id] = chat.channel_user_id
        elif phone and phone in shared:
            found[borrower_id] = (None, "shared_number", False)
        elif phone:
            wanted[borrower_id] = first_contact.whatsapp_id_of(phone)
    ids = set(wanted.values())
    # A chat at the number verified as someone else: the number is not only this borrower's.
    taken = dict(
        session.execute(
            select(Conversation.channel_user_id, Conversation.borrower_id).where(
                Conversation.channel == _WHATSAPP,
                Conversation.channel_user_id.in_(ids),
                Conversation.borrower_id.is_not(None),
            )
        ).all()
    )
    said_stop = set(
        session.scalars(
            select(Conversation.channel_user_id)
            .join(Case, Case.conversation_id == Conversation.id)
            .where(
                Conversation.channel == _WHATSAPP,
                Conversation.channel_user_id.in_(ids),
                Case.kind == "opt_out",
                Case.status != "withdrawn",
            )
        )
    )
    missing = outbound.not_on_whatsapp(session, ids)
    for borrower_id, wa_id in wanted.items():
        if taken.get(wa_id, borrower_id) != borrower_id:
            found[borrower_id] = (None, "shared_number", False)
        elif wa_id in missing:
            found[borrower_id] = (None, "not_on_whatsapp", wa_id in said_stop)
        else:
            found[borrower_id] = (wa_id, "", wa_id in said_stop)
    return found


def _history(session: Session, borrower_ids: set[int], now: datetime) -> dict[int, list[datetime]]:
    """Proactive messages sent to these borrowers in the last 8 days (the caps look back 7)."""
    found: dict[int, list[datetime]] = defaultdict(list)
    for borrower_id, sent_at in session.execute(
        select(Reminder.borrower_id, Reminder.sent_at).where(
            Reminder.borrower_id.in_(borrower_ids),
            Reminder.status == "sent",
            Reminder.sent_at > now - timedelta(days=8),
        )
    ):
        if sent_at is not None:
            found[borrower_id].append(sent_at)
    return found


def reminders_of(session: Session, loan_ids: Sequence[int]) -> list[Reminder]:
    return list(
        session.scalars(
            select(Reminder).where(Reminder.loan_id.in_(loan_ids)).order_by(Reminder.id)
        )
    )
