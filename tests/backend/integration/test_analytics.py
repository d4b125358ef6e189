"""The dashboard's figures from a small history built by hand, checked against arithmetic
done by hand: four conversations on two channels in two languages over 2026-03-02..04
(Shanghai), handoffs with known waits, promises in CNY and JPY, loans that cure, stay or roll,
reminders sent and held, two opt-outs, labelled messages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backend.__main__ import main
from backend.analytics.dashboard import build
from backend.analytics.figures import Dashboard, Scope, newcombe, wilson
from backend.analytics.report import render
from backend.borrowers.models import Borrower
from backend.cases.models import Case, Handoff
from backend.config import get_settings
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.db import make_engine
from backend.ledger.models import Loan
from backend.outreach.models import Reminder
from backend.promises.models import Promise
from backend.tuning.models import MessageLabel
from tests.backend import factories

START, END = date(2026, 3, 2), date(2026, 3, 4)
D1, D2, D3 = START, date(2026, 3, 3), END
ALL = Scope(START, END)


def at(day: date, clock: str) -> datetime:
    """A Shanghai wall-clock time (UTC+8, no daylight saving) as UTC."""
    hour, minute = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@dataclass
class History:
    loans: dict[str, Loan]
    chats: dict[str, Conversation]


def _message(
    db: Session,
    chat: Conversation,
    when: datetime,
    intent: str | None,
    confidence: float | None,
    sender: str = "borrower",
) -> Message:
    m = Message(
        conversation_id=chat.id, sender=sender, text="...", intent=intent, confidence=confidence,
        sent_at=when,
    )  # fmt: skip
    db.add(m)
    db.flush()
    return m


def _handoff(db: Session, chat: Conversation, requested: datetime, taken: datetime | None) -> None:
    db.add(
        Handoff(
            conversation_id=chat.id, borrower_id=chat.borrower_id, reason="borrower_request",
            status="closed" if taken else "waiting", created_at=requested, taken_at=taken,
            taken_by="bob" if taken else None, closed_at=taken,
        )
    )  # fmt: skip


def _promise(
    db: Session, loan: Loan, chat: Conversation | None, *, made: date, due: date,
    amount: int, paid: int, status: str, currency: str = "CNY",
) -> None:  # fmt: skip
    db.add(
        Promise(
            loan_id=loan.id, conversation_id=chat.id if chat else None, amount_minor=amount,
            currency=currency, promised_date=due, created_on=made, created_at=at(made, "12:00"),
            status=status, paid_minor=paid, source="bot" if chat else "collector",
        )
    )  # fmt: skip


def _reminder(
    db: Session, loan: Loan, step: str, *, variant: str = "champion", status: str = "sent",
    reason: str | None = None, when: datetime, chat: Conversation | None = None,
    held_by: str | None = None,
) -> None:  # fmt: skip
    """`held_by`: the first rule that held it back; by default its reason (dropped, waiting)
    when a compliance rule gave it, as the dispatcher records it."""
    if held_by is None and reason not in (None, "no_chat", "no_longer_due"):
        held_by = reason
    sent = status == "sent"
    db.add(
        Reminder(
            loan_id=loan.id, borrower_id=loan.borrower_id, step_id=step, variant=variant,
            template=step, occasion=when.date(), status=status, reason=reason, not_before=when,
            decided_at=when, sent_at=when if sent else None, held_by=held_by,
            conversation_id=chat.id if chat else None,
        )
    )  # fmt: skip


def make_history(db: Session) -> History:
    def person(ref: str, language: str) -> Borrower:
        return factories.borrower(db, ref=ref, language=language, phone_e164=f"+86138001380{ref}")

    a, b, c = person("0A", "zh"), person("0B", "en"), person("0C", "zh")
    d, e = person("0D", "zh"), person("0E", "en")
    jpy = factories.product(db, code="P-JPY", currency="JPY")
    # Past due on 03-02: L-A 15 days (due 02-15), L-B and L-E 29 days (due 02-01), L-D 15.
    loans = {
        "A": factories.loan(db, ref="L-A", who=a),
        "B": factories.loan(db, ref="L-B", who=b, prod=jpy, disbursed_on=date(2026, 1, 1)),
        "C": factories.loan(db, ref="L-C", who=c, disbursed_on=date(2026, 2, 20)),  # current
        "D": factories.loan(db, ref="L-D", who=d),
        "E": factories.loan(db, ref="L-E", who=e, disbursed_on=date(2026, 1, 1)),
    }
    factories.payment(db, loans["A"], 300_000, D2, "a-cures")
    factories.payment(db, loans["E"], 400_000, D2, "e-cures")
    chats = {
        "A": factories.conversation(db, who=a, channel="telegram", user_id="a"),  # zh (borrower)
        "B": factories.conversation(db, who=b, channel="webchat", user_id="b"),
        "C": factories.conversation(db, who=c, channel="telegram", user_id="c"),  # zh (borrower)
        "E": factories.conversation(db, who=e, channel="webchat", user_id="e"),  # never writes
        "U": factories.conversation(db, channel="telegram", user_id="u"),  # never verified
    }
    chats["B"].language = "en"
    chats["U"].language = "en"
    ca, cb, cc, cu = chats["A"], chats["B"], chats["C"], chats["U"]

    m0 = _message(db, ca, at(date(2026, 3, 1), "23:59"), "nlu_fallback", 0.2)  # before: out
    _message(db, ca, at(D1, "07:30"), "ask_balance", 0.95)  # 03-01 23:30 UTC: still 03-02
    m2 = _message(db, ca, at(D1, "23:30"), "nlu_fallback", 0.3)
    m10 = _message(db, ca, at(D1, "23:40"), "nlu_fallback", 0.2)
    m3 = _message(db, ca, at(D2, "00:30"), "promise_to_pay", 0.55)  # 03-02 16:30 UTC: 03-03
    _message(db, ca, at(D2, "00:31"), None, None, sender="bot")
    m4 = _message(db, cb, at(D1, "10:00"), "ask_plans", 0.8)
    _message(db, cb, at(D3, "09:00"), "affirm", None)
    _message(db, cb, at(date(2026, 3, 5), "00:10"), "nlu_fallback", 0.1)  # 03-04 UTC: out
    _message(db, cc, at(D3, "12:00"), "greet", 0.99)
    m9 = _message(db, cc, at(D3, "12:02"), None, None)  # not parsed
    _message(db, cu, at(D2, "08:00"), "stop_contact", 0.9)

    _handoff(db, cb, at(D1, "10:05"), at(D1, "10:06"))  # 60 s
    _handoff(db, ca, at(D2, "00:35"), at(D2, "00:37"))  # 120 s
    _handoff(db, cc, at(D3, "12:01"), at(D3, "12:11"))  # 600 s
    _handoff(db, cb, at(D3, "09:05"), None)  # still waiting

    _promise(db, loans["A"], ca, made=D2, due=D3, amount=100_000, paid=100_000, status="kept")
    _promise(
        db, loans["B"], cb, made=D1, due=D3, amount=300_000, paid=100_000, status="broken",
        currency="JPY",
    )  # fmt: skip
    _promise(db, loans["D"], None, made=D2, due=D3, amount=50_000, paid=20_000,
             status="partly_kept")  # fmt: skip
    _promise(db, loans["A"], ca, made=date(2026, 2, 20), due=D2, amount=40_000, paid=0,
             status="broken")  # fmt: skip
    _promise(db, loans["C"], cc, made=D3, due=date(2026, 3, 10), amount=30_000, paid=0,
             status="open")  # fmt: skip

    _reminder(db, loans["A"], "overdue_1", when=at(D1, "10:00"), chat=ca)
    _reminder(db, loans["B"], "overdue_1", variant="challenger", when=at(D1, "10:00"), chat=cb)
    # sent, after the borrower's daily cap held it back the evening before
    _reminder(db, loans["C"], "before_due_3", when=at(D1, "10:00"), chat=cc, held_by="daily_cap")
    _reminder(db, loans["D"], "overdue_1", when=at(D2, "09:00"))  # D has no chat
    _reminder(db, loans["E"], "overdue_1", when=at(D3, "09:00"), chat=chats["E"])
    _reminder(db, loans["E"], "overdue_3", when=at(date(2026, 3, 1), "23:00"))  # before: out
    _reminder(db, loans["A"], "overdue_3", status="planned", reason="outside_window",
              when=at(D2, "22:00"))  # fmt: skip
    _reminder(db, loans["D"], "overdue_7", status="dropped", reason="no_chat",
              when=at(D3, "10:00"))  # fmt: skip
    _reminder(db, loans["B"], "promise_due_1", status="dropped", reason="opt_out",
              when=at(D3, "11:00"))  # fmt: skip
    _reminder(db, loans["C"], "on_due", status="planned", when=at(D3, "11:00"))  # undecided

    for chat, who, when in ((cu, None, at(D2, "08:00")), (cb, b.id, at(D3, "11:00"))):
        db.add(Case(kind="opt_out", conversation_id=chat.id, borrower_id=who, created_at=when,
                    updated_at=when))  # fmt: skip

    for message, intent in (
        (m0, "ask_plans"), (m2, "ask_plans"), (m10, "ask_plans"), (m3, "promise_to_pay"),
        (m4, "ask_balance"), (m9, "greet"),
    ):  # fmt: skip
        db.add(MessageLabel(message_id=message.id, intent=intent, example="...", labelled_by="op"))
    db.flush()
    return History(loans, chats)


@pytest.fixture
def history(db: Session) -> History:
    return make_history(db)


def figures(db: Session, scope: Scope = ALL, **options: float) -> Dashboard:
    return build(db, scope, **options)  # type: ignore[arg-type]


class TestChats:
    def test_counts_each_day_in_the_business_time_zone(self, db: Session, history: History):
        d = figures(db)
        assert [(c.day, c.conversations, c.contained, c.handed_off) for c in d.chats] == [
            (D1, 2, 1, 1),  # A (07:30, 23:30, 23:40), B handed off
            (D2, 2, 1, 1),  # A (00:30, handed off), U
            (D3, 2, 0, 2),  # B (handoff still waiting), C handed off
        ]
        # waits 60 | 120 | 600 s; B's waiting handoff has none yet
        assert [(c.wait_median_s, c.wait_p90_s) for c in d.chats] == [
            (60, 60), (120, 120), (600, 600),
        ]  # fmt: skip

    def test_the_total_counts_each_conversation_once(self, db: Session, history: History):
        t = figures(db).chat_total
        # A, B, C, U; handed off in the period: A, B, C
        assert (t.day, t.conversations, t.contained, t.handed_off) == (None, 4, 1, 3)
        # waits 60, 120, 600 s -> median 120; p90 at rank 0.9 * 2 = 1.8: 120 + 0.8 * 480 = 504
        assert t.wait_median_s == 120
        assert t.wait_p90_s == pytest.approx(504)

    def test_a_channel_slice_keeps_its_conversations_only(self, db: Session, history: History):
        d = figures(db, Scope(START, END, channel="telegram"))
        # telegram: A (03-02, 03-03), U (03-03), C (03-04)
        assert [(c.conversations, c.handed_off, c.wait_median_s) for c in d.chats] == [
            (1, 0, None), (2, 1, 120), (1, 1, 600),
        ]  # fmt: skip
        t = d.chat_total
        # waits 120, 600 -> median 360, p90 120 + 0.9 * 480 = 552
        assert (t.conversations, t.contained, t.handed_off) == (3, 1, 2)
        assert (t.wait_median_s, t.wait_p90_s) == (360, pytest.approx(552))

    def test_a_language_slice_reads_the_chat_else_the_borrower(self, db: Session, history: History):
        # en: B (chat en), U (chat en, no borrower); A and C are zh by their borrowers
        d = figures(db, Scope(START, END, language="en"))
        assert [(c.conversations, c.handed_off) for c in d.chats] == [(1, 1), (1, 0), (1, 1)]
        assert (d.chat_total.conversations, d.chat_total.handed_off) == (2, 1)
        zh = figures(db, Scope(START, END, language="zh")).chat_total
        assert (zh.conversations, zh.handed_off) == (2, 2)  # A and C

    def test_a_late_evening_message_stays_on_its_day(self, db: Session, history: History):
        # A at 23:30 and 23:40 on 03-02 only: that day counts A, the next day A again (00:30)
        one_day = figures(db, Scope(D1, D1, channel="telegram"))
        assert [c.conversations for c in one_day.chats] == [1]
        # 03-05 00:10 Shanghai is still 03-04 in UTC: not in a period ending 03-04
        assert figures(db, Scope(D3, D3, language="en")).nlu_total.messages == 1  # B's affirm


class TestPromises:
    def test_per_day(self, db: Session, history: History):
        d = figures(db)
        assert [(p.conversations, p.with_promise, p.due, p.kept) for p in d.promises] == [
            (2, 1, 0, 0),  # B promised in its chat
            (2, 1, 1, 0),  # A promised; A's older promise (made 02-20) fell due, broken
            (2, 1, 3, 1),  # C promised; A's kept, B's broken, D's partly kept fell due
        ]
        t = d.promise_total
        assert (t.conversations, t.with_promise, t.due, t.kept) == (4, 3, 4, 1)

    def test_amounts_per_currency_with_its_own_minor_units(self, db: Session, history: History):
        d = figures(db)
        # CNY made in the period: 100,000 + 50,000 + 30,000 promised; 100,000 + 20,000 paid
        assert [(a.currency, a.promised_minor, a.paid_minor) for a in d.amounts] == [
            ("CNY", 180_000, 120_000),
            ("JPY", 300_000, 100_000),
        ]
        assert str(d.amounts[0].promised) == "1800.00"
        assert str(d.amounts[1].promised) == "300000"  # the yen has no minor unit

    def test_slices(self, db: Session, history: History):
        tg = figures(db, Scope(START, END, channel="telegram"))
        # telegram: A's two (kept 03-04, broken 03-03) and C's; D's had no chat
        assert (tg.promise_total.due, tg.promise_total.kept) == (2, 1)
        assert [(a.currency, a.promised_minor) for a in tg.amounts] == [("CNY", 130_000)]
        en = figures(db, Scope(START, END, language="en"))
        assert (en.promise_total.with_promise, en.promise_total.due) == (1, 1)  # B's
        assert [(a.currency, a.paid_minor) for a in en.amounts] == [("JPY", 100_000)]
        # zh: D's promise without a chat is zh by the loan's borrower
        zh = figures(db, Scope(START, END, language="zh"))
        assert [(a.currency, a.promised_minor) for a in zh.amounts] == [("CNY", 180_000)]


class TestTransitions:
    def test_assistant_users_against_the_others(self, db: Session, history: History):
        assistant, others = figures(db).transitions
        # A, B and C wrote; C's loan was current. A paid on 03-03, B went from 29 to 31 days.
        assert (assistant.group, assistant.loans, assistant.cured) == ("assistant", 2, 1)
        assert assistant.rolls == {("1-30", "current"): 1, ("1-30", "31-60"): 1}
        assert assistant.roll_forward() == 1
        # D and E never wrote (E has a chat); E paid, D stayed 1-30
        assert (others.group, others.loans, others.cured) == ("others", 2, 1)
        assert others.rolls == {("1-30", "current"): 1, ("1-30", "1-30"): 1}
        assert others.roll_forward() == 0

    def test_slices(self, db: Session, history: History):
        zh = figures(db, Scope(START, END, language="zh")).transitions
        assert [(t.loans, t.cured) for t in zh] == [(1, 1), (1, 0)]  # A | D
        tg = figures(db, Scope(START, END, channel="telegram")).transitions
        assert [(t.loans, t.cured) for t in tg] == [(1, 1), (2, 1)]  # A | D and E
        en = figures(db, Scope(START, END, language="en")).transitions
        assert [t.rolls for t in en] == [{("1-30", "31-60"): 1}, {("1-30", "current"): 1}]


class TestReminders:
    def test_sent_held_and_opt_outs_per_day(self, db: Session, history: History):
        d = figures(db)
        assert [(r.sent, r.held, r.opt_outs) for r in d.reminders] == [
            (3, {"daily_cap": 1}, 0),  # A, B, C; C's was held by the cap first, then went
            (1, {"outside_window": 1}, 1),  # D; A's overdue_3 deferred; U opted out
            (1, {"opt_out": 1}, 1),  # E; B dropped (D's no_chat is no rule's); B opted out
        ]
        t = d.reminder_total
        assert (t.sent, t.opt_outs) == (5, 2)
        assert t.held == {"daily_cap": 1, "opt_out": 1, "outside_window": 1}

    def test_slices_by_the_reminder_chat_else_the_borrower(self, db: Session, history: History):
        tg = figures(db, Scope(START, END, channel="telegram"))
        # to A and C; A's deferral by A's chat; U's opt-out; D (no chat) is in no channel
        assert [(r.sent, r.held, r.opt_outs) for r in tg.reminders] == [
            (2, {"daily_cap": 1}, 0), (0, {"outside_window": 1}, 1), (0, {}, 0),
        ]  # fmt: skip
        en = figures(db, Scope(START, END, language="en")).reminder_total
        assert (en.sent, en.held, en.opt_outs) == (2, {"opt_out": 1}, 2)  # B, E | B | U, B

    def test_champion_against_challenger(self, db: Session, history: History):
        [e] = figures(db).experiments
        # champion: A paid 03-03, D promised 03-03, E paid before its reminder -> 2 of 3
        # challenger: B promised 03-02 11:00, after its 10:00 reminder -> 1 of 1
        assert e.step_id == "overdue_1"
        assert (e.champion.variant, e.champion.sent, e.champion.converted) == ("champion", 3, 2)
        assert (e.challenger.variant, e.challenger.sent, e.challenger.converted) == (
            "challenger", 1, 1,
        )  # fmt: skip
        assert e.champion.rate == wilson(2, 3)
        assert e.challenger.rate == wilson(1, 1)
        assert e.difference == newcombe(1, 1, 2, 3)
        assert e.difference is not None and e.difference.estimate == pytest.approx(1 / 3)

    def test_the_results_window_decides_a_conversion(self, db: Session, history: History):
        # E promises on 03-06 12:00, two days and three hours after its reminder
        _promise(db, history.loans["E"], None, made=date(2026, 3, 6), due=date(2026, 3, 9),
                 amount=10_000, paid=0, status="open")  # fmt: skip
        db.flush()
        assert figures(db, results_days=2).experiments[0].champion.converted == 2
        assert figures(db, results_days=3).experiments[0].champion.converted == 3

    def test_a_step_without_its_challenger_in_the_slice_is_no_experiment(
        self, db: Session, history: History
    ):
        assert figures(db, Scope(START, END, channel="telegram")).experiments == []


class TestNlu:
    def test_fallbacks_per_day(self, db: Session, history: History):
        d = figures(db)
        # 03-02: A's 3 + B's 1, two nlu_fallback; 03-03: A's 0.55 (< 0.6) and U's; 03-04: B's
        # affirm (no confidence: not a fallback) and C's greet; C's unparsed message not read
        assert [(n.messages, n.fallbacks) for n in d.nlu] == [(4, 2), (2, 1), (2, 0)]
        assert (d.nlu_total.messages, d.nlu_total.fallbacks) == (8, 3)

    def test_the_threshold_is_a_parameter(self, db: Session, history: History):
        assert figures(db, fallback_threshold=0.5).nlu_total.fallbacks == 2  # 0.55 now passes

    def test_corrections_most_frequent_first(self, db: Session, history: History):
        found = [(c.predicted, c.labelled, c.count) for c in figures(db).corrections]
        # m0 is before the period; labels agreeing with the reading correct nothing
        assert found == [
            ("nlu_fallback", "ask_plans", 2),
            (None, "greet", 1),
            ("ask_plans", "ask_balance", 1),
        ]
        en = figures(db, Scope(START, END, language="en")).corrections
        assert [(c.predicted, c.labelled) for c in en] == [("ask_plans", "ask_balance")]


class TestEmptyPeriods:
    def test_a_quiet_period_has_no_rates(self, db: Session, history: History):
        d = figures(db, Scope(date(2026, 4, 1), date(2026, 4, 2)))
        assert len(d.chats) == 2 and d.chat_total.conversations == 0
        assert d.chat_total.wait_median_s is None and d.chat_total.wait_p90_s is None
        assert (d.promise_total.due, d.amounts, d.experiments, d.corrections) == (0, [], [], [])
        assert d.reminder_total.sent == 0 and d.nlu_total.messages == 0
        assert render(d)  # every rate shown as "-", no division by zero

    def test_an_empty_database(self, db: Session):
        d = figures(db)
        assert [t.loans for t in d.transitions] == [0, 0]
        assert d.chat_total.conversations == 0
        assert "total" in render(d)


@pytest.fixture
def history_url(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    path = tmp_path / "history.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        make_history(session)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BUSINESS_DATE", END.isoformat())
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


class TestCommand:
    def test_prints_the_tables_with_their_totals(
        self, history_url: str, capsys: pytest.CaptureFixture[str]
    ):
        main(["dashboard", "--days", "3"])
        out = capsys.readouterr().out
        lines = [" ".join(line.split()) for line in out.splitlines()]
        assert lines[0].startswith("Dashboard 2026-03-02 to 2026-03-04 (Asia/Shanghai)")
        # chats, contained, handed off, containment 1/4, wait median 120 s, p90 504 s
        assert "total 4 1 3 25.0% 120s 504s" in lines
        assert "CNY 1800.00 1200.00 66.7%" in lines
        assert "total 8 3 37.5%" in lines  # NLU: 3 fallbacks of 8

    def test_a_channel_and_an_earlier_day(
        self, history_url: str, capsys: pytest.CaptureFixture[str]
    ):
        main(["dashboard", "--days", "1", "--as-of", "2026-03-02", "--channel", "webchat"])
        lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
        assert "channel webchat" in lines[0]
        assert "2026-03-02 1 0 1 0.0% 60s 60s" in lines  # B, handed off after 60 s
