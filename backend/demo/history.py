"""About 90 days of generated past activity for a demo portfolio of its own (refs HIST-0001...),
so the operations dashboard and the tuning pages have something to show; before it, each
borrower's loan (and for some a first loan, repaid) paid by a paying habit kept over its life,
so the month-end snapshots of the year before show who pays late and catches up, who slips and
stops. The fixed demo borrowers (DEMO-01..10) are left without history: end-to-end journeys
rely on that.

Deterministic (one seeded `random.Random`; on a fresh database the same rows every time) and
consistent with the domain: payments go through the ledger's posting code and promises are
judged by the promise service, in the order they happened; reminders fire where the outreach
rules say they fire and are decided by the compliance rules; every handoff was taken and
closed, every promise decided, every reminder sent or dropped, all before `today`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.borrowers.identity import hash_id_number
from backend.borrowers.models import Borrower
from backend.cases.models import Case, Handoff, Note
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.demo import history_texts as say
from backend.demo.generator import EN_FIRST, EN_LAST, EN_ZONES, ZH_GIVEN, ZH_SURNAMES
from backend.demo.history_chats import COLLECTORS, Chats, Clock, pick
from backend.demo.history_reminders import Reminders
from backend.demo.history_state import PlannedPromise, Sim
from backend.demo.products import ensure_products
from backend.ledger import service as ledger
from backend.ledger.models import Loan, Payment, Product
from backend.ledger.schedule import build_schedule, due_dates
from backend.ledger.statement import PaymentRecord
from backend.outbound.models import OutboundMessage
from backend.outreach import rules as outreach_rules
from backend.outreach.models import Reminder, ReminderDecision
from backend.outreach.setup import OutreachConfig, load_outreach_config
from backend.promises import rules as promise_rules
from backend.promises import service as promises
from backend.promises.models import Promise, PromiseEscalation
from backend.promises.rules import PromisePolicy
from backend.tuning.masking import mask_personal
from backend.tuning.models import MessageLabel

REF_PREFIX = "HIST-"
DAYS = 90
BORROWERS = 280
SEED = 20261129
# A promise's chat (history_chats) stamps it a few minutes off its planned moment (after a
# handoff, up to half an hour later): it is planned only with payments well after that moment,
# and decided again with the stamp, so a payment in between never leaves it open for ever.
CHAT_SLACK = timedelta(hours=1)
PROVIDER = "demo"
# Where borrowers start, as (kind, weight, days past due at the start).
START_STATES = (
    ("current", 50, (0, 0)),
    ("1-30", 22, (3, 30)),
    ("31-60", 13, (31, 60)),
    ("61-90", 9, (61, 90)),
    ("91-180", 6, (91, 170)),
)
# Borrowers whose current loan is their second, the first repaid shortly before it was paid out
# (when the first falls in the year of month-end snapshots).
REPEAT_SHARE = 0.7
# Each borrower's paying habit, drawn with the start state and kept over the loan's life: how
# the installments before the period were paid (so the month-end snapshots of the year before
# show who pays late and cures, who misses a month now and then, who slips and stops) and how
# those in it are. Loans 31+ days late at the start are the ones that slipped and stopped.
HABITS = {
    "current": (("steady", 45), ("late", 25), ("occasional", 15), ("slipping", 15)),
    "1-30": (("late", 40), ("occasional", 20), ("slipping", 40)),
}
# Before the period, per installment: the chance a borrower misses it, and one, two or three
# months after, pays everything then due.
MISSES = {"late": 0.05, "occasional": 0.12}
# In the period, per installment: the chance it is paid on time, and of it paid on time or late
# (the rest: the borrower stops paying).
PAYS = {
    "steady": (0.9, 0.99),
    "late": (0.1, 0.97),
    "occasional": (0.75, 0.98),
    "slipping": (0.25, 0.6),
}


@dataclass(frozen=True, slots=True)
class HistoryCounts:
    borrowers: int
    loans: int  # a borrower's current loan, and for some a first one repaid before it
    payments: int
    promises: int
    conversations: int
    messages: int
    handoffs: int
    reminders: int
    cases: int
    labels: int


def history_exists(session: Session) -> bool:
    found = session.scalar(select(Borrower.id).where(Borrower.ref.startswith(REF_PREFIX)).limit(1))
    return found is not None


def seed_history(
    session: Session,
    *,
    id_hash_key: str,
    today: date,
    config_dir: Path,
    business_timezone: str = "Asia/Shanghai",
    seed: int = SEED,
    borrowers: int = BORROWERS,
) -> HistoryCounts | None:
    """Write the history (flushes, never commits); None when it is already there."""
    if history_exists(session):
        return None
    config = load_outreach_config(config_dir)
    policy = promises.load_promise_policy(config_dir)
    return History(
        session, random.Random(seed), today, config, policy, ZoneInfo(business_timezone)
    ).run(id_hash_key, borrowers)


class History:
    def __init__(
        self,
        session: Session,
        rng: random.Random,
        today: date,
        config: OutreachConfig,
        policy: PromisePolicy,
        business_zone: ZoneInfo,
    ) -> None:
        self.session, self.rng, self.today = session, rng, today
        self.config, self.policy, self.business_zone = config, policy, business_zone
        self.start = today - timedelta(days=DAYS)
        self.last = today - timedelta(days=1)
        self.messages: list[dict[str, Any]] = []
        self.outbound: list[tuple[int, dict[str, Any]]] = []  # (message index, row)
        self.handoffs: list[dict[str, Any]] = []
        self.cases: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.reminders: list[tuple[int | None, dict[str, Any]]] = []
        self.labels: list[tuple[int, dict[str, Any]]] = []

    # -- time ---------------------------------------------------------------------------

    def at(self, day: date, zone: ZoneInfo, hour: int, minute: int, second: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute, second), tzinfo=zone).astimezone(UTC)

    def daytime(self, day: date, zone: ZoneInfo) -> datetime:
        """A moment of the day, mostly 08:00-21:00 local, with a few late and early ones."""
        r = self.rng.random()
        hour = (
            21
            if r < 0.03
            else 7
            if r < 0.05
            else self.rng.choice((8, 9, 10, 11, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 20))
        )
        return self.at(day, zone, hour, self.rng.randint(0, 59), self.rng.randint(0, 59))

    # -- the run ------------------------------------------------------------------------

    def run(self, id_hash_key: str, count: int) -> HistoryCounts:
        products = ensure_products(self.session)
        sims = [self._borrower(n, products, id_hash_key) for n in range(1, count + 1)]
        self.session.flush()
        step = self.config.policy.step("overdue_1")
        for sim in sims:
            sim.challenger = outreach_rules.assign_variant(sim.borrower.id, step).name != (
                step.all_variants[0].name
            )
            self._plan_payments(sim)
        self._conversations(sims)
        chats, reminders = Chats(self), Reminders(self)
        for sim in sims:
            self._plan_promises(sim)
            if sim.assistant:
                chats.write(sim)
            for promise in sim.promises:  # made_at is final now: the day the service decides
                promise.decide_on = self._decided_on(
                    sim, promise.made_at, promise.amount, promise.promised_date
                )
        self._post_ledger(sims)
        for sim in sims:
            if sim.reachable:
                reminders.write(sim)
        self._write()
        return HistoryCounts(
            borrowers=len(sims),
            loans=len(sims) + sum(s.earlier is not None for s in sims),
            payments=sum(
                len(s.payments) + len(s.earlier.payments if s.earlier else ()) for s in sims
            ),
            promises=sum(len(s.promises) for s in sims),
            conversations=sum(s.reachable for s in sims),
            messages=len(self.messages),
            handoffs=len(self.handoffs),
            reminders=len(self.reminders),
            cases=len(self.cases),
            labels=len(self.labels),
        )

    # -- borrowers and loans ------------------------------------------------------------

    def _borrower(self, number: int, products: dict[str, Product], id_hash_key: str) -> Sim:
        rng = self.rng
        zh = rng.random() < 0.68
        if zh:
            name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
            phone = f"+861{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}"
            id_number = f"{rng.randint(0, 10**17 - 1):017d}{rng.choice('0123456789X')}"
            zone_name = "Asia/Shanghai"
            product = products[rng.choices(("CASH-12", "CASH-6-EP", "BIZ-12-IO"), (6, 3, 1))[0]]
        else:
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
            phone = f"+65{rng.choice('89')}{rng.randint(0, 9_999_999):07d}"
            id_number = f"S{rng.randint(0, 9_999_999):07d}{rng.choice('ABCDEFGHIJZ')}"
            zone_name = rng.choices(EN_ZONES, (6, 1, 1, 1, 1))[0]
            product = products["SG-CASH-12" if rng.random() < 0.75 else "CASH-12"]
        borrower = Borrower(
            ref=f"{REF_PREFIX}{number:04d}",
            full_name=name,
            phone_e164=phone,
            id_number_hash=hash_id_number(id_number, id_hash_key),
            id_last4=id_number[-4:],
            date_of_birth=date(rng.randint(1962, 2003), rng.randint(1, 12), rng.randint(1, 28)),
            language="zh" if zh else "en",
            timezone=zone_name,
            created_at=self.at(self.start - timedelta(days=200), ZoneInfo(zone_name), 9, 0),
        )
        state, _, (lo, hi) = rng.choices(START_STATES, [s[1] for s in START_STATES])[0]
        dpd = rng.randint(lo, hi)
        habits = HABITS.get(state, (("slipping", 1),))
        habit = rng.choices([h for h, _ in habits], [w for _, w in habits])[0]
        months = product.term_months
        if state == "current":
            paid = rng.randint(0, months - 3)
            first_unpaid = self.start + timedelta(days=rng.randint(1, 30))
        else:
            paid = rng.randint(0, max(0, months - 2 - dpd // 30))
            first_unpaid = self.start - timedelta(days=dpd)
        principal = rng.randint(10, 300 if product.currency == "CNY" else 120) * 10_000
        disbursed = _disbursement_for(paid, first_unpaid, months)
        loan = ledger.originate_loan(
            self.session,
            ref=f"L-{borrower.ref}",
            borrower=borrower,
            product=product,
            principal=principal,
            disbursed_on=disbursed,
        )
        loan.created_at = self.at(disbursed, ZoneInfo(zone_name), 10, 0)
        terms = ledger.product_terms(product, principal=principal, disbursed_on=disbursed)
        assistant = rng.random() < (0.55 if state != "current" else 0.42)
        sim = Sim(
            number=number,
            borrower=borrower,
            loan=loan,
            zone=ZoneInfo(zone_name),
            terms=terms,
            schedule=build_schedule(terms),
            start_state=state,
            habit=habit,
            lateness=rng.randint(3, 18) if habit == "late" else rng.randint(2, 6),
            pays_part=habit == "slipping" and rng.random() < 0.6,
            assistant=assistant,
            reachable=assistant or rng.random() < 0.45,
            channel="telegram" if rng.random() < 0.65 else "webchat",
            challenger=False,
        )
        # Nothing may be stamped after today began: a borrower west of the business time zone
        # is still in yesterday's afternoon then, so their history ends the day before.
        began = self.at(self.today, self.business_zone, 0, 0).astimezone(sim.zone)
        sim.last = began.date() - timedelta(days=0 if began.hour >= 23 else 1)
        self._pay_before(sim, paid)
        sim.earlier = self._earlier_loan(sim, product)
        first = sim.earlier.loan.disbursed_on if sim.earlier else disbursed
        borrower.created_at = min(
            borrower.created_at, self.at(first - timedelta(days=1), sim.zone, 9, 0)
        )
        return sim

    def _pay_before(self, sim: Sim, paid: int) -> None:
        """The payments before the period, by the borrower's habit: the first `paid`
        installments (see `_pay_installments`); then, once stopped, parts of the arrears now
        and then, never enough to settle the first installment missed."""
        sim.missed_from = paid
        sim.lateness = self._pay_installments(sim, paid, sim.habit, self.start)
        if not sim.pays_part or paid >= len(sim.schedule):
            return
        rng, first_unpaid = self.rng, sim.schedule[paid]
        sim.part_left = first_unpaid.amount * 85 // 100
        day = first_unpaid.due_date + timedelta(days=rng.randint(3, 25))
        while day < self.start:
            if rng.random() < 0.55:
                amount = min(first_unpaid.amount * rng.randint(15, 35) // 100, sim.part_left)
                self._pay(sim, day, amount)
                sim.part_left -= amount
            day += timedelta(days=rng.randint(25, 40))

    def _pay_installments(self, sim: Sim, count: int, habit: str, before: date) -> int:
        """Pay the first `count` installments by `habit`, each settled (what is due then, as
        the ledger counts it) before the next falls due and before `before`: steady on the due
        date; late some days to weeks after it; occasional now and then a month missed and
        caught up with the next; slipping later and later over the last few, some only in
        part. Returns how late the last late payment was."""
        rng = self.rng
        slip_from = count - rng.randint(2, 4) if habit == "slipping" else count
        late, clean, skip = sim.lateness, True, 0
        misses = MISSES.get(habit, 0.0)
        for k, row in enumerate(sim.schedule[:count]):
            following = sim.schedule[k + 1].due_date if k + 1 < len(sim.schedule) else before
            limit = min(following, before) - timedelta(days=1)
            months = rng.choice((1, 1, 2, 3))
            if skip:  # missed, caught up with this one
                skip -= 1
                if skip:
                    continue
                day, share = row.due_date + timedelta(days=rng.randint(0, 5)), 100
            elif k + months < count and k < slip_from and rng.random() < misses:
                skip, clean = months, False
                continue
            elif habit == "late" and rng.random() < 0.85:
                day = row.due_date + timedelta(days=min(max(late + rng.randint(-2, 3), 1), 25))
                share = 100
            elif k >= slip_from:
                late += rng.randint(3, 8)
                day = row.due_date + timedelta(days=late)
                share = rng.randint(40, 80) if k + 1 < count and rng.random() < 0.35 else 100
            elif clean:
                self._pay(sim, row.due_date, row.amount)
                continue
            else:
                day, share = row.due_date, 100
            day = max(min(day, limit), row.due_date)
            self._pay(sim, day, sim.statement(day).due_now * share // 100)
            clean = share == 100
        return late

    def _earlier_loan(self, sim: Sim, product: Product) -> Sim | None:
        """The borrower's first loan, repaid (by the habit they had then) shortly before the
        current one was paid out; only when it falls in the year the month-end snapshots
        cover, and written with its payments like the history before the period."""
        rng, disbursed = self.rng, sim.loan.disbursed_on
        ended = disbursed - timedelta(days=rng.randint(3, 45))
        if ended < self.today - timedelta(days=365) or rng.random() > REPEAT_SHARE:
            return None
        months = product.term_months
        first = ended - relativedelta(months=months)
        principal = rng.randint(10, 200 if product.currency == "CNY" else 80) * 10_000
        loan = ledger.originate_loan(
            self.session,
            ref=f"L-{sim.borrower.ref}-1",
            borrower=sim.borrower,
            product=product,
            principal=principal,
            disbursed_on=first,
        )
        loan.created_at = self.at(first, sim.zone, 10, 0)
        terms = ledger.product_terms(product, principal=principal, disbursed_on=first)
        # one who slips now had fallen behind on the first loan too, and caught up
        habit = "occasional" if sim.habit == "slipping" else sim.habit
        earlier = Sim(
            number=sim.number,
            borrower=sim.borrower,
            loan=loan,
            zone=sim.zone,
            terms=terms,
            schedule=build_schedule(terms),
            start_state="repaid",
            habit=habit,
            lateness=sim.lateness if habit == "late" else rng.randint(2, 6),
            pays_part=False,
            assistant=False,
            reachable=False,
            channel=sim.channel,
            challenger=False,
        )
        self._pay_installments(earlier, months, habit, disbursed)
        return earlier

    def _pay(self, sim: Sim, day: date, amount: int, at: datetime | None = None) -> None:
        if amount <= 0:
            return
        ref = f"{sim.loan.ref.removeprefix('L-')}-{len(sim.payments) + 1:02d}"
        if at is None and self.rng.random() < 0.06:  # paid overnight, before the reminder went
            at = self.at(day, sim.zone, self.rng.randint(0, 7), self.rng.randint(10, 59))
        moment = at or self.daytime(day, sim.zone)
        sim.payments.append((PaymentRecord(ref, amount, day), moment))

    # -- what each borrower pays in the period ------------------------------------------

    def _plan_payments(self, sim: Sim) -> None:
        """Paying habits, kept from before the period and better for borrowers who use the
        assistant; loans that stop paying roll into worse buckets as the days pass."""
        rng, helped = self.rng, sim.assistant
        cure_day: date | None = None
        if sim.start_state != "current":
            cure_day = self._plan_arrears(sim)
            if cure_day is None:
                return
        if cure_day is not None:  # the arrears first, then the installments after
            self._pay_share(sim, cure_day, 100)
        on_time, paying = PAYS[sim.habit]
        if helped:
            on_time, paying = on_time + 0.05, paying + (1 - paying) / 2
        covered = cure_day or date.min  # installments due by then are paid with that payment
        late = sim.lateness
        for row in sim.schedule:
            if row.due_date < self.start or row.due_date > sim.last or row.due_date <= covered:
                continue
            r = rng.random()
            if r < on_time:
                day = row.due_date - timedelta(days=rng.choice((0, 0, 0, 1, 2)))
                self._pay_share(sim, day, 100, row.due_date)
            elif r < paying or (sim.challenger and rng.random() < 0.6):
                # the gentler overdue_1 wording (challenger) gets paid sooner, and more often
                if sim.habit == "slipping":
                    late += rng.randint(3, 8)
                day = row.due_date + timedelta(days=self._days_late(sim, late))
                self._pay_share(sim, day, 100)
            else:
                break  # stopped paying
            covered = day

    def _days_late(self, sim: Sim, late: int) -> int:
        """How late an installment in the period is paid, by the habit."""
        rng = self.rng
        if sim.challenger and rng.random() < 0.6:
            return rng.randint(1, 3)
        if sim.habit == "late":
            return min(max(late + rng.randint(-3, 5), 1), 25)
        if sim.habit == "slipping":
            return late
        if sim.habit == "occasional" and rng.random() < 0.6:
            return rng.randint(28, 33)  # a month missed, caught up with the next
        return rng.randint(1, 3) if rng.random() < 0.4 else rng.randint(4, 25)

    def _plan_arrears(self, sim: Sim) -> date | None:
        """A loan late at the start: the day it cures, or None (it pays part, or nothing).
        A late payer catches up as late as usual (the habit), one who missed a month now and
        then with the next installment; one who slipped may cure, pay part, or nothing."""
        rng = self.rng
        first_unpaid = sim.schedule[sim.missed_from]
        if sim.habit == "late":
            day = first_unpaid.due_date + timedelta(days=sim.lateness + rng.randint(-2, 6))
            return max(day, self.start + timedelta(days=rng.randint(0, 4)))
        if sim.habit == "occasional":
            following = [r for r in sim.schedule if r.due_date > first_unpaid.due_date]
            if following:
                return max(following[0].due_date, self.start) + timedelta(rng.randint(0, 4))
        scale = {"1-30": 1.3, "31-60": 1.0, "61-90": 0.7, "91-180": 0.4}[sim.start_state]
        if rng.random() < (0.5 if sim.assistant else 0.22) * scale:
            return self.start + timedelta(days=rng.randint(1, DAYS - 3))
        if sim.pays_part:  # part of the installment first missed, as before the period
            for _ in range(rng.randint(1, 2)):
                day = self.start + timedelta(days=rng.randint(1, DAYS - 2))
                amount = min(first_unpaid.amount * rng.randint(15, 40) // 100, sim.part_left)
                if self.start <= day <= sim.last and amount > 0:
                    self._pay(sim, day, amount)
                    sim.payments.sort(key=lambda p: p[1])
                    sim.part_left -= amount
        return None

    def _pay_share(self, sim: Sim, day: date, share: int, due: date | None = None) -> None:
        """Pay `share`% of what is due on `day` (of the installment due on `due` when paying
        it early), as the ledger computes it with the payments so far."""
        day = max(day, self.start)
        if day > sim.last:
            return
        st = sim.statement(due or day)
        amount = st.due_now * share // 100
        if due is not None and due > day:
            amount = st.due_now
        self._pay(sim, day, amount)
        sim.payments.sort(key=lambda p: p[1])

    # -- promises to pay ----------------------------------------------------------------

    def _plan_promises(self, sim: Sim) -> None:
        """Promises before payments of loans in arrears (kept, or partly), and some that
        nothing followed (broken); one open at a time, each decided before today."""
        if not sim.assistant:
            return
        rng, grace = self.rng, timedelta(days=self.policy.grace_days)
        free_from = (sim.bound_at or self.at(self.start, sim.zone, 0, 0)) + timedelta(hours=1)
        candidates: list[tuple[datetime, date, int]] = []
        for record, paid_at in sim.payments:
            if paid_at < free_from or rng.random() > 0.75:
                continue
            made_day = max(record.received_on - timedelta(days=rng.randint(0, 6)), free_from.date())
            promised = record.amount
            if rng.random() < 0.2:
                promised = record.amount * rng.randint(150, 220) // 100  # partly kept
            date_to = record.received_on + timedelta(days=rng.randint(0, 3))
            candidates.append((self.daytime(made_day, sim.zone), date_to, promised))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):  # nothing followed these
            day = self.start + timedelta(days=rng.randint(5, DAYS - 20))
            candidates.append((self.daytime(day, sim.zone), day + timedelta(rng.randint(2, 10)), 0))
        candidates.sort()
        busy_until = free_from
        for made_at, date_to, wanted in candidates:
            made_day = made_at.astimezone(sim.zone).date()
            if made_at < busy_until or made_day > sim.last:
                continue
            st = sim.statement(made_day, before=made_at)
            if st.dpd == 0 or st.paid_off:
                continue
            window = promise_rules.window(
                today=made_day,
                overdue=st.overdue_amount,
                payoff=st.payoff_amount,
                currency=sim.loan.currency,
                policy=self.policy,
            )
            amount = wanted or st.overdue_amount * rng.randint(30, 100) // 100
            amount = min(max(amount, window.minimum), window.maximum)
            try:
                promise_rules.check_new_promise(window, amount=amount, promised_date=date_to)
            except promise_rules.PromiseRefused:
                continue
            decide_on = self._decided_on(sim, made_at + CHAT_SLACK, amount, date_to)
            if decide_on > sim.last or (wanted == 0 and decide_on - date_to <= grace):
                continue  # still open today, or a "broken" one that a payment kept after all
            by_person = rng.random() < 0.25
            sim.promises.append(
                PlannedPromise(
                    made_at,
                    amount,
                    date_to,
                    decide_on,
                    "collector" if by_person else "bot",
                    rng.choice(COLLECTORS[sim.language]) if by_person else None,
                )
            )
            busy_until = self.at(decide_on, sim.zone, 23, 59)

    def _decided_on(self, sim: Sim, made_at: datetime, amount: int, date_to: date) -> date:
        """The day the promise service decides it: the day payments reach the kept share, or
        the day after its pay-by date."""
        pay_by = promise_rules.pay_by(date_to, self.policy)
        needed, paid = promise_rules.kept_threshold(amount, self.policy), 0
        for record, at in sim.payments:
            if at >= made_at and record.received_on <= pay_by:
                paid += record.amount
                if paid >= needed:
                    return record.received_on
        return pay_by + timedelta(days=1)

    # -- conversations ------------------------------------------------------------------

    def _conversations(self, sims: list[Sim]) -> None:
        rows = []
        for sim in sims:
            if not sim.reachable:
                continue
            if sim.assistant:  # linked the chat early in the period, before paying in it
                day = self.start + timedelta(days=self.rng.randint(0, 40))
                paid = [r.received_on for r, _ in sim.payments if r.received_on >= self.start]
                if paid:
                    before = min(paid) - timedelta(days=self.rng.randint(1, 12))
                    day = max(self.start, min(day, before))
            else:
                day = self.start - timedelta(days=self.rng.randint(5, 120))
            sim.bound_at = self.daytime(day, sim.zone)
            user_id = (
                str(8_100_000_000 + sim.number * 7919)
                if sim.channel == "telegram"
                else f"hist-{self.rng.getrandbits(64):016x}"
            )
            rows.append(
                {
                    "channel": sim.channel,
                    "channel_user_id": user_id,
                    "borrower_id": sim.borrower.id,
                    "bound_at": sim.bound_at,
                    "bound_by": "link_token",
                    "language": sim.language,
                    "mode": "bot",
                    "failed_verifications": 0,
                    "created_at": sim.bound_at - timedelta(seconds=20),
                }
            )
        ids = self.session.scalars(
            insert(Conversation).returning(Conversation.id, sort_by_parameter_order=True), rows
        ).all()
        for sim, conversation_id in zip([s for s in sims if s.reachable], ids, strict=True):
            sim.conversation_id = conversation_id
            if not sim.assistant and sim.bound_at is not None:  # started the bot long ago
                clock = Clock(self, sim, sim.bound_at - timedelta(seconds=20))
                clock.borrower("/start", None)
                clock.bot(pick(self.rng, say.BOT["welcome"][sim.language]))

    # -- the ledger: payments posted and promises judged as they happened ---------------

    def _post_ledger(self, sims: list[Sim]) -> None:
        # Before the period: paid as the seed pays (set-based); in it: posted one by one.
        earlier = [
            {
                "loan_id": sim.loan.id,
                "provider": PROVIDER,
                "reference": record.reference,
                "amount_minor": record.amount,
                "currency": sim.loan.currency,
                "received_on": record.received_on,
                "created_at": at,
            }
            for sim in [*sims, *(s.earlier for s in sims if s.earlier)]
            for record, at in sim.payments
            if record.received_on < self.start
        ]
        if earlier:
            self.session.execute(insert(Payment), earlier)
        for sim in sims:
            events: list[tuple[datetime, int, Any]] = [
                (at, 1, record) for record, at in sim.payments if record.received_on >= self.start
            ]
            for promise in sim.promises:
                events.append((promise.made_at, 0, promise))
                events.append((self.at(promise.decide_on, sim.zone, 23, 30), 2, promise))
            events.sort(key=lambda e: (e[0], e[1]))
            for at, kind, item in events:
                day = at.astimezone(sim.zone).date()
                if kind == 1:
                    posted = ledger.post_payment(
                        self.session,
                        loan=sim.loan,
                        amount=item.amount,
                        reference=item.reference,
                        provider=PROVIDER,
                        received_on=item.received_on,
                        today=item.received_on,
                    )
                    posted.payment.created_at = at
                    if sim.promises:  # a payment may keep the open promise at once
                        self.session.flush()
                        promises.evaluate_loan(
                            self.session, loan_id=sim.loan.id, as_of=day, policy=self.policy
                        )
                elif kind == 0:
                    self.session.add(
                        Promise(
                            loan_id=sim.loan.id,
                            conversation_id=sim.conversation_id or None,
                            amount_minor=item.amount,
                            currency=sim.loan.currency,
                            promised_date=item.promised_date,
                            created_on=day,
                            created_at=at,
                            source=item.source,
                            recorded_by=item.recorded_by,
                        )
                    )
                    self.session.flush()
                else:
                    promises.evaluate_loan(
                        self.session, loan_id=sim.loan.id, as_of=item.decide_on, policy=self.policy
                    )
        # Loans flagged after broken promises in a row were seen to by a supervisor.
        for escalation in self.session.scalars(
            select(PromiseEscalation)
            .join(Loan)
            .where(Loan.ref.startswith(f"L-{REF_PREFIX}"), PromiseEscalation.cleared_at.is_(None))
        ):
            # flagged by the morning's evaluation, seen to by a supervisor that day
            escalation.created_at = self.at(escalation.created_on, self.business_zone, 0, 30)
            escalation.cleared_at = self.at(escalation.created_on, self.business_zone, 10, 15)
            escalation.cleared_by = "supervisor"
        self.session.flush()

    # -- writing ------------------------------------------------------------------------

    def _write(self) -> None:
        session = self.session
        case_ids = _insert(session, Case, self.cases)
        message_ids = _insert(session, Message, self.messages)
        outbound_rows = [{**row, "message_id": message_ids[i]} for i, row in self.outbound]
        outbound_ids = _insert(session, OutboundMessage, outbound_rows)
        outbound_of = {i: outbound_ids[k] for k, (i, _) in enumerate(self.outbound)}
        handoff_rows = []
        for row in self.handoffs:
            case = row.pop("_case")
            handoff_rows.append({**row, "case_id": case_ids[case] if case is not None else None})
        handoff_ids = _insert(session, Handoff, handoff_rows)
        for note in self.notes:
            note["handoff_id"] = handoff_ids[note.pop("_handoff")]
        _insert(session, Note, self.notes)
        decisions = [row.pop("_decisions") for _, row in self.reminders]
        reminder_ids = _insert(
            session,
            Reminder,
            [
                {**row, "outbound_id": outbound_of[i] if i is not None else None}
                for i, row in self.reminders
            ],
        )
        _insert(
            session,
            ReminderDecision,
            [
                {**decision, "reminder_id": reminder_id}
                for reminder_id, made in zip(reminder_ids, decisions, strict=True)
                for decision in made
            ],
        )
        labelled = [
            {
                "message_id": message_ids[i],
                "intent": say.LABELS[m["text"]],
                "example": mask_personal(m["text"]),
                "labelled_by": "operations",
                "labelled_at": m["sent_at"] + timedelta(days=1, hours=2),
            }
            for i, m in enumerate(self.messages)
            if m["sender"] == "borrower"
            and m["text"] in say.LABELS
            and m["sent_at"] + timedelta(days=1, hours=2)
            < self.at(self.today, self.business_zone, 0, 0)
        ]
        seen: set[str] = set()
        for row in labelled:
            if row["example"] not in seen and len(seen) < 12:
                seen.add(row["example"])
                self.labels.append((row["message_id"], row))
        _insert(session, MessageLabel, [row for _, row in self.labels])
        session.flush()


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    return list(
        session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows).all()
    )


def _disbursement_for(paid: int, first_unpaid_due: date, months: int) -> date:
    """A disbursement date whose installment `paid + 1` falls due on `first_unpaid_due`."""
    guess = first_unpaid_due - relativedelta(months=paid + 1)
    for shift in range(0, 5):  # month-end clamping can move a due date by up to 3 days
        candidate = guess - timedelta(days=shift)
        if due_dates(candidate, paid + 1)[-1] == first_unpaid_due:
            return candidate
    return guess
