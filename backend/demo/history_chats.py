"""The demo history's chats (backend/demo/history.py): linking the chat, questions, promises
and payment links, misreadings and rephrasings, handoffs to the demo collectors, opt-outs.
Rows are collected on the history and written together at the end."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backend.demo import history_texts as say
from backend.demo.history_state import Hold, PlannedPromise, Sim
from backend.demo.users import DEMO_USERS
from backend.ledger.statement import PaymentRecord
from backend.money import format_major
from backend.outbound import texts

if TYPE_CHECKING:
    from backend.demo.history import History

FALLBACK_CONFIDENCE = 0.6  # Rasa's FallbackClassifier reports its threshold (nlu/config.yml)
STAFF = {u[0]: u[1] for u in DEMO_USERS}  # username: the name borrowers see
# Who takes a chat, by its language: mostly the collector who works in it.
COLLECTORS = {
    "zh": ("collector.zh",) * 3 + ("supervisor",),
    "en": ("collector",) * 3 + ("supervisor",),
}
MISC_INTENTS = (
    "check_due_date",
    "payment_history",
    "ask_fees",
    "ask_consequences",
    "bot_challenge",
    "scam_concern",
    "out_of_scope",
    "request_installment",
    "request_extension",
    "request_settlement",
    "already_paid",
    "change_language",
)


class Chats:
    def __init__(self, h: History) -> None:
        self.h = h

    def write(self, sim: Sim) -> None:
        """The borrower's chats: linking the chat, around promises and payments, questions,
        now and then a person, misreadings, an opt-out."""
        rng, lang = self.h.rng, sim.language
        assert sim.bound_at is not None
        clock = Clock(self.h, sim, sim.bound_at - timedelta(seconds=20))
        clock.borrower("/start", None)
        clock.bot(pick(rng, say.BOT["welcome"][lang]))
        if rng.random() < 0.6:
            self._ask(clock, "check_balance", sim.bound_at.astimezone(sim.zone).date())
        for promise in sim.promises:
            if promise.source == "bot":
                self._promise_chat(sim, promise)
            else:
                self._handoff(
                    sim, promise.made_at - timedelta(minutes=3), "borrower_request", promise
                )
        for record, paid_at in sim.payments:
            if (
                paid_at > sim.bound_at
                and rng.random() < 0.45
                and record.received_on >= self.h.start
            ):
                clock = Clock(self.h, sim, paid_at - timedelta(minutes=rng.randint(3, 40)))
                self._misread(clock)
                self._pay_chat(clock, sim, record)
        days = (sim.last - sim.bound_at.astimezone(sim.zone).date()).days
        if days < 2:
            return

        def some_day() -> date:
            return sim.bound_at.astimezone(sim.zone).date() + timedelta(days=rng.randint(1, days))  # type: ignore[union-attr]

        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            self._question(sim, some_day())
        if rng.random() < 0.24:
            reasons = ("borrower_request", "complaint", "dispute", "hardship", "misunderstood")
            reason = "distress" if rng.random() < 0.03 else rng.choice(reasons)
            self._handoff(sim, self.h.daytime(some_day(), sim.zone), reason, None)
        if rng.random() < 0.06:
            self._opt_out(sim, self.h.daytime(some_day(), sim.zone))

    def _misread(self, clock: Clock) -> None:
        """Now and then a line the NLU did not get, rephrased a moment later."""
        r = self.h.rng.random()
        if r < 0.05:
            clock.borrower(
                pick(self.h.rng, say.MISREAD[clock.sim.language]),
                "nlu_fallback",
                FALLBACK_CONFIDENCE,
            )
            clock.bot(pick(self.h.rng, say.BOT["fallback"][clock.sim.language]))
        elif r < 0.08:  # read as something else, fairly sure
            wrong = self.h.rng.choice(("inform", "affirm", "out_of_scope", "check_due_date"))
            clock.borrower(
                pick(self.h.rng, say.MISREAD[clock.sim.language]),
                wrong,
                round(self.h.rng.uniform(0.61, 0.74), 3),
            )
            clock.bot(pick(self.h.rng, say.BOT["out_of_scope"][clock.sim.language]))
        clock.last_confidence = None  # the next line, said again another way, reads better

    def _ask(self, clock: Clock, intent: str, day: date) -> None:
        sim, lang = clock.sim, clock.sim.language
        clock.borrower(pick(self.h.rng, say.BORROWER[intent][lang]), intent)
        st = sim.statement(day, before=clock.now)
        nxt = st.next_due
        values = {
            "loan": sim.loan.ref,
            "dpd": st.dpd,
            "cur": sim.loan.currency,
            "amount": format_major(st.due_now or (nxt[1] if nxt else 0), sim.loan.currency),
            "date": (nxt[0] if nxt else day).isoformat(),
        }
        if intent == "check_balance" and st.dpd == 0:
            intent = "check_due_date"
        clock.bot(pick(self.h.rng, say.BOT[intent][lang]).format(**values))

    def _pay_chat(self, clock: Clock, sim: Sim, record: PaymentRecord) -> None:
        lang = sim.language
        clock.borrower(pick(self.h.rng, say.BORROWER["make_payment"][lang]), "make_payment")
        expires = (clock.now + timedelta(hours=24)).astimezone(sim.zone)
        token = f"{self.h.rng.getrandbits(40):010x}"
        clock.bot(
            texts.payment_link(
                lang,
                amount=format_major(record.amount, sim.loan.currency),
                currency=sim.loan.currency,
                url=f"https://pay.example.com/l/{token}",
                expires=f"{expires:%Y-%m-%d %H:%M}",
            )
        )
        if self.h.rng.random() < 0.5:
            clock.borrower(pick(self.h.rng, say.BORROWER["thank"][lang]), "thank")

    def _promise_chat(self, sim: Sim, promise: PlannedPromise) -> None:
        lang, cur = sim.language, sim.loan.currency
        clock = Clock(self.h, sim, promise.made_at - timedelta(minutes=2))
        self._misread(clock)
        day = promise.made_at.astimezone(sim.zone).date()
        self._ask(clock, "check_balance", day)
        amount = format_major(promise.amount, cur)
        spoken = promise.promised_date.strftime("%-m月%-d号" if lang == "zh" else "%b %-d")
        line = pick(self.h.rng, say.BORROWER["promise_to_pay"][lang]).format(
            date=spoken, amount=amount
        )
        entities = [
            {"entity": "amount", "value": amount},
            {"entity": "date", "value": promise.promised_date.isoformat()},
        ]
        clock.borrower(line, "promise_to_pay", entities=entities)
        values = {"date": promise.promised_date.isoformat(), "amount": amount, "cur": cur}
        clock.bot(pick(self.h.rng, say.BOT["confirm_promise"][lang]).format(**values))
        clock.borrower(pick(self.h.rng, say.BORROWER["affirm"][lang]), "affirm")
        promise.made_at = clock.tick()
        clock.bot(
            texts.promise_recorded(
                lang, loan=sim.loan.ref, currency=cur, amount=amount, date=values["date"]
            )
        )

    def _question(self, sim: Sim, day: date) -> None:
        """A question on its own: balance, fees, plans, is this a bot..."""
        rng, lang = self.h.rng, sim.language
        clock = Clock(self.h, sim, self.h.daytime(day, sim.zone))
        if rng.random() < 0.4:
            clock.borrower(pick(rng, say.BORROWER["greet"][lang]), "greet")
            clock.bot(pick(rng, say.BOT["greet"][lang]))
        self._misread(clock)
        self._ask(clock, rng.choice(MISC_INTENTS), day)
        closing = rng.choice(("thank", "goodbye", "deny", None))
        if closing:
            clock.borrower(pick(rng, say.BORROWER[closing][lang]), closing)
            if closing != "deny":
                clock.bot(pick(rng, say.BOT[closing][lang]))

    def _handoff(
        self, sim: Sim, begin: datetime, reason: str, promise: PlannedPromise | None
    ) -> None:
        """A chat handed to a person: asked for, waited (mostly 30 s to 5 min), taken by a
        collector, talked through, handed back to the bot."""
        rng, lang = self.h.rng, sim.language
        clock = Clock(self.h, sim, begin)
        case_kind, reason, raised = self._ask_for_person(clock, reason)
        asked = clock.last_borrower_text  # the handoff's details: the words that asked for it
        requested = clock.tick()
        clock.bot(pick(rng, say.BOT["handoff"][lang]))
        wait = rng.choice((rng.uniform(30, 300),) * 8 + (rng.uniform(300, 1200),) * 2)
        taken = requested + timedelta(seconds=wait)
        collector = rng.choice(COLLECTORS[lang])
        clock.now = taken
        clock.system(texts.collector_joined(lang, collector=STAFF[collector]))
        for _ in range(rng.randint(1, 3)):
            clock.collector(pick(rng, say.COLLECTOR[lang]), collector)
            clock.borrower(pick(rng, say.BORROWER_TO_COLLECTOR[lang]), None)
        if promise is not None:
            amount = format_major(promise.amount, sim.loan.currency)
            promise.made_at = clock.tick()
            promise.recorded_by = collector
            clock.collector(
                texts.promise_recorded(
                    lang,
                    loan=sim.loan.ref,
                    currency=sim.loan.currency,
                    amount=amount,
                    date=promise.promised_date.isoformat(),
                ),
                collector,
            )
        closed = clock.tick() + timedelta(seconds=rng.randint(20, 120))
        clock.now = closed
        clock.system(texts.back_to_bot(lang), resume_bot=True)
        case_index = None
        if case_kind is not None:
            hold = case_kind == "hardship" and rng.random() < 0.6
            resolved = requested + timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 6))
            resolved = min(resolved, self.h.at(sim.last, sim.zone, 18, 0))
            case_index = self._case(sim, case_kind, requested, resolved, raised, hold)
            held = {"dispute": "dispute", "distress": "distress"}.get(case_kind)
            if held or hold:
                sim.holds.append(Hold(held or "hardship_hold", requested, resolved))
        sim.holds.append(Hold("live_handoff", requested, closed))
        self.h.handoffs.append(
            {
                "_case": case_index,
                "conversation_id": sim.conversation_id,
                "borrower_id": sim.borrower.id,
                "reason": reason,
                "details": asked[:200],
                "status": "closed",
                "taken_by": collector,
                "close_note": rng.choice(say.CLOSE_NOTES),
                "created_at": requested,
                "taken_at": taken,
                "closed_at": closed,
            }
        )
        if rng.random() < 0.3:
            self.h.notes.append(
                {
                    "_handoff": len(self.h.handoffs) - 1,
                    "borrower_id": sim.borrower.id,
                    "conversation_id": sim.conversation_id,
                    "author": collector,
                    "text": pick(rng, say.STAFF_NOTES[lang]),
                    "created_at": closed - timedelta(seconds=10),
                }
            )

    def _ask_for_person(self, clock: Clock, reason: str) -> tuple[str | None, str, str]:
        """What leads to the handoff; the case it files (if any), the handoff's reason, and the
        borrower's words the case is filed with (as the assistant files it: the words that
        raised it, not the last said to the collector)."""
        rng, lang = self.h.rng, clock.sim.language
        case_kind = None
        raised = ""
        if reason == "misunderstood":
            for _ in range(2):
                clock.borrower(pick(rng, say.MISREAD[lang]), "nlu_fallback", FALLBACK_CONFIDENCE)
                clock.bot(pick(rng, say.BOT["fallback"][lang]))
        elif reason in ("complaint", "dispute"):
            intent = "complaint" if reason == "complaint" else "dispute_debt"
            clock.borrower(pick(rng, say.BORROWER[intent][lang]), intent)
            case_kind, raised = reason, clock.last_borrower_text
            if reason == "dispute":
                clock.bot(pick(rng, say.BOT["dispute_debt"][lang]))
        elif reason == "distress":  # stop collecting, help first, a person at once
            clock.borrower(pick(rng, say.BORROWER["distress"][lang]), "distress")
            raised = clock.last_borrower_text
            clock.bot(pick(rng, say.BOT["distress"][lang]))
            case_kind = "distress"
        elif reason == "hardship":
            clock.borrower(pick(rng, say.BORROWER["report_hardship"][lang]), "report_hardship")
            raised = clock.last_borrower_text
            clock.bot(pick(rng, say.BOT["report_hardship"][lang]))
            clock.borrower(pick(rng, say.BORROWER["request_human"][lang]), "request_human")
            case_kind, reason = "hardship", "borrower_request"
        else:
            clock.borrower(pick(rng, say.BORROWER["request_human"][lang]), "request_human")
        return case_kind, reason, raised

    def _case(
        self,
        sim: Sim,
        kind: str,
        opened: datetime,
        closed: datetime | None,
        details: str,
        hold: bool,
    ) -> int:
        owner = COLLECTORS[sim.language][0]
        note = self.h.rng.choice(say.CLOSE_NOTES) if closed is not None else ""
        self.h.cases.append(
            {
                "kind": kind,
                "status": "open" if closed is None else "resolved",
                "conversation_id": sim.conversation_id,
                "borrower_id": sim.borrower.id,
                "loan_id": None if kind in ("opt_out", "distress") else sim.loan.id,
                "details": details[:200],
                "hold": hold,
                "owner": None if closed is None else owner,
                "notes": "" if closed is None else f"{closed:%Y-%m-%d %H:%M} UTC {owner}: {note}\n",
                "created_at": opened,
                "updated_at": closed or opened,
                "closed_at": closed,
            }
        )
        return len(self.h.cases) - 1

    def _opt_out(self, sim: Sim, at: datetime) -> None:
        """ "退订" / "STOP": recorded as the inbound route records it, an opt-out case in force."""
        clock = Clock(self.h, sim, at)
        word = "退订" if sim.language == "zh" else "STOP"
        clock.borrower(word, "stop_contact", 0.99)
        opted = clock.tick()
        clock.bot(pick(self.h.rng, say.BOT["stop_contact"][sim.language]))
        self._case(sim, "opt_out", opted, None, word, False)
        sim.holds.append(Hold("opt_out", opted, None))


class Clock:
    """Writes one chat's messages a few seconds apart from `start`."""

    def __init__(self, history: History, sim: Sim, start: datetime) -> None:
        self.h, self.sim, self.now = history, sim, start
        self.last_borrower_text = ""
        self.last_confidence: float | None = None

    def tick(self, low: int = 4, high: int = 40) -> datetime:
        self.now += timedelta(seconds=self.h.rng.randint(low, high))
        return self.now

    def _log(self, row: dict[str, Any]) -> int:
        self.h.messages.append(
            {
                "conversation_id": self.sim.conversation_id,
                "author": None,
                "buttons": None,
                "intent": None,
                "confidence": None,
                "entities": None,
                **row,
            }
        )
        return len(self.h.messages) - 1

    def borrower(
        self,
        text: str,
        intent: str | None,
        confidence: float | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> int:
        if intent is not None and confidence is None:
            confidence = round(self.h.rng.uniform(0.78, 0.995), 3)
            if self.last_confidence is not None:
                # a quick follow-up read more surely than the line before looks like a rephrase
                # in the misunderstood inbox: keep those to the misreadings made on purpose
                confidence = min(confidence, self.last_confidence)
        self.last_borrower_text = text
        self.last_confidence = confidence if intent is not None else None
        return self._log(
            {
                "sender": "borrower",
                "text": text,
                "intent": intent,
                "confidence": confidence,
                "entities": entities,
                "sent_at": self.tick(6, 70),
            }
        )

    def bot(self, text: str) -> int:
        return self._log({"sender": "bot", "text": text, "sent_at": self.tick(1, 3)})

    def collector(self, text: str, username: str) -> int:
        index = self._log(
            {"sender": "collector", "author": username, "text": text, "sent_at": self.tick(15, 90)}
        )
        self._outbound(index, "collector", username, text, None, False)
        return index

    def system(
        self,
        text: str,
        *,
        author: str | None = None,
        buttons: list[dict[str, str]] | None = None,
        resume_bot: bool = False,
    ) -> int:
        index = self._log(
            {
                "sender": "system",
                "author": author,
                "text": text,
                "buttons": buttons,
                "sent_at": self.now,
            }
        )
        self._outbound(index, "system", author, text, buttons, resume_bot)
        return index

    def _outbound(
        self,
        index: int,
        sender: str,
        author: str | None,
        text: str,
        buttons: list[dict[str, str]] | None,
        resume_bot: bool,
    ) -> None:
        at = self.h.messages[index]["sent_at"]
        self.h.outbound.append(
            (
                index,
                {
                    "conversation_id": self.sim.conversation_id,
                    "sender": sender,
                    "author": author,
                    "text": text,
                    "buttons": buttons,
                    "resume_bot": resume_bot,
                    # a web chat page that was closed keeps the message in its history
                    "status": "delivered"
                    if self.sim.channel == "telegram" or self.h.rng.random() < 0.6
                    else "stored",
                    "attempts": 1,
                    "next_attempt_at": at,
                    "delivered_at": at + timedelta(seconds=self.h.rng.randint(1, 4)),
                    "channel_message_id": str(self.h.rng.randint(1000, 999_999))
                    if self.sim.channel == "telegram"
                    else None,
                    "created_at": at,
                },
            )
        )


def pick(rng: random.Random, options: tuple[str, ...]) -> str:
    return rng.choice(options)
