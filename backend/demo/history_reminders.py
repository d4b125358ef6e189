"""The demo history's reminders (backend/demo/history.py): each day's steps for a loan as the
planner finds them, decided by the compliance rules until sent or dropped, sent ones logged
in the chat through the outbox as delivered."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.demo.history_chats import Clock
from backend.demo.history_state import PlannedPromise, Sim
from backend.outreach import rules as outreach_rules
from backend.outreach.facts import PromiseDates, loan_facts
from backend.outreach.policy import Step
from backend.outreach.service import render
from backend.outreach.templates import buttons as reminder_buttons
from backend.promises import rules as promise_rules

if TYPE_CHECKING:
    from backend.demo.history import History


class Reminders:
    def __init__(self, h: History) -> None:
        self.h = h

    def write(self, sim: Sim) -> None:
        """Each day's steps for the loan, as the planner would have found them at 00:05, then
        decided by the compliance rules until sent or dropped."""
        assert sim.bound_at is not None
        policy, sent_at = self.h.config.policy, list[datetime]()
        compliance = self.h.config.compliance
        choice = compliance.choose(
            contract=sim.loan.jurisdiction, phone_e164=sim.borrower.phone_e164
        )
        profile = compliance.profile_of(choice)
        first = max(
            self.h.start, sim.bound_at.astimezone(self.h.business_zone).date() + timedelta(days=1)
        )
        today_starts = self.h.at(self.h.today, self.h.business_zone, 0, 0)
        due_set = {row.due_date for row in sim.schedule}
        for offset in range((self.h.last - first).days + 1):
            day = first + timedelta(days=offset)
            planned = self.h.at(day, self.h.business_zone, 0, 5)
            if not self._may_fire(sim, day, due_set):
                continue
            st = sim.statement(day, before=planned)
            facts = loan_facts(
                loan_id=sim.loan.id,
                borrower_id=sim.borrower.id,
                today=day,
                st=st,
                promises=self._promise_dates(sim, planned),
            )
            for occasion in outreach_rules.due_occasions(facts, policy.steps):
                step = policy.step(occasion.step_id)
                variant = outreach_rules.assign_variant(sim.borrower.id, step)
                now, decisions, verdict = planned + timedelta(seconds=60), 0, None
                reason: str | None = None
                held_by: str | None = None  # the first rule that held it back
                record: list[dict[str, Any]] = []  # each decision, as the dispatcher keeps it
                while True:
                    decisions += 1
                    if not self._still_due(sim, step, occasion, now):
                        verdict, reason = "drop", "no_longer_due"
                        record.append(
                            {
                                "borrower_id": sim.borrower.id,
                                "decided_at": now,
                                "action": "drop",
                                "reason": reason,
                                "not_before": None,
                                "profile": None,
                                "jurisdiction": None,
                                "jurisdiction_source": None,
                                "checks": "{}",
                            }
                        )
                        break
                    question: dict[str, Any] = {
                        "now": now,
                        "timezone": sim.borrower.timezone,
                        "profile": profile,
                        "history": outreach_rules.History(tuple(sent_at)),
                        "hold": self._hold(sim, now),
                        "occasion": occasion.occasion,
                        "valid_days": step.valid_days,
                        "dpd": facts.dpd,
                    }
                    decided = outreach_rules.decide(**question)
                    checks = outreach_rules.checks(**question)
                    record.append(
                        {
                            "borrower_id": sim.borrower.id,
                            "decided_at": now,
                            "action": decided.action,
                            "reason": decided.reason,
                            "not_before": decided.not_before,
                            "profile": choice.name,
                            "jurisdiction": choice.region,
                            "jurisdiction_source": choice.source,
                            "checks": json.dumps({"dpd": facts.dpd, **checks}),
                        }
                    )
                    if decided.action != "defer":
                        verdict, reason = decided.action, decided.reason
                        break
                    held_by = held_by or decided.reason
                    assert decided.not_before is not None
                    now = decided.not_before + timedelta(seconds=self.h.rng.randint(1, 50))
                if now >= today_starts:
                    continue  # would still be waiting today: not history
                row = {
                    "loan_id": sim.loan.id,
                    "borrower_id": sim.borrower.id,
                    "step_id": step.id,
                    "variant": variant.name,
                    "template": variant.template,
                    "occasion": occasion.occasion,
                    "due_date": occasion.due_date,
                    "status": "sent" if verdict == "send" else "dropped",
                    "reason": reason,
                    "held_by": held_by
                    or (reason if verdict == "drop" and reason != "no_longer_due" else None),
                    "not_before": now,
                    "decisions": decisions,
                    "conversation_id": sim.conversation_id if verdict == "send" else None,
                    "created_at": planned,
                    "decided_at": now,
                    "sent_at": now if verdict == "send" else None,
                    "profile": choice.name,
                    "jurisdiction": choice.region,
                    "jurisdiction_source": choice.source,
                    "_decisions": record,
                }
                index = None
                if verdict == "send":
                    sent_at.append(now)
                    text = render(
                        self.h.config,
                        template=variant.template,
                        due_date=occasion.due_date,
                        loan=sim.loan,
                        borrower=sim.borrower,
                        st=st,
                        facts=facts,
                        promises=self._promise_dates(sim, planned),
                        language=sim.language,
                    )
                    clock = Clock(self.h, sim, now)
                    index = clock.system(
                        text,
                        author=f"outreach:{step.id}",
                        buttons=reminder_buttons(step.buttons, sim.language) or None,
                    )
                self.h.reminders.append((index, row))

    def _may_fire(self, sim: Sim, day: date, due_set: set[date]) -> bool:
        """The planner's shortcut: only a loan with a date some step fires for today."""
        dates = outreach_rules.occasion_dates(day, self.h.config.policy.steps)
        installments = dates["before_due"] | dates["on_due"] | dates["overdue"]
        promised = dates["promise_due"] | dates["promise_broken"]
        return bool(installments & due_set) or any(
            p.promised_date in promised or p.decide_on in promised for p in sim.promises
        )

    def _still_due(
        self, sim: Sim, step: Step, occasion: outreach_rules.Occasion, now: datetime
    ) -> bool:
        """Whether a payment since planning took the reason away (the worker's re-check)."""
        if not any(occasion.occasion <= r.received_on and at < now for r, at in sim.payments):
            return True
        day = now.astimezone(self.h.business_zone).date()
        st = sim.statement(day, before=now)
        facts = loan_facts(
            loan_id=sim.loan.id,
            borrower_id=sim.borrower.id,
            today=day,
            st=st,
            promises=self._promise_dates(sim, now),
        )
        if step.trigger in ("before_due", "on_due"):
            return occasion.due_date in facts.unpaid_due_dates
        if step.trigger == "promise_due":
            return facts.open_promise_date == occasion.due_date
        return not facts.paid_off and facts.dpd > 0

    def _promise_dates(self, sim: Sim, now: datetime) -> PromiseDates:
        day = now.astimezone(sim.zone).date()
        open_, broken = None, None
        for p in sim.promises:
            if p.made_at > now:
                continue
            status = self._outcome(sim, p)
            if p.decide_on > day or (p.decide_on == day and status != "kept"):
                open_ = (p.promised_date, p.amount)
            elif status == "broken":
                broken = p.decide_on
        return PromiseDates(open_, broken)

    def _outcome(self, sim: Sim, p: PlannedPromise) -> str:
        paid = sum(
            r.amount
            for r, at in sim.payments
            if at >= p.made_at
            and r.received_on <= promise_rules.pay_by(p.promised_date, self.h.policy)
        )
        if paid >= promise_rules.kept_threshold(p.amount, self.h.policy):
            return "kept"
        return "partly_kept" if paid else "broken"

    def _hold(self, sim: Sim, now: datetime) -> str | None:
        found = {h.kind for h in sim.holds if h.start <= now and (h.end is None or now < h.end)}
        return next(
            (
                r
                for r in ("distress", "opt_out", "dispute", "hardship_hold", "live_handoff")
                if r in found
            ),
            None,
        )
