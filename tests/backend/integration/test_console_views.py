"""The console's read-only views: the handoff queue, the borrower and loan panel, the transcript.

Loan figures are hand-checked. The flat products lend at 0% so each installment is a round sum:
100,000 (1,000.00) a month on a 12,000.00 loan; penalty 0.05% a day on overdue principal (50 a
day on 100,000), a 50.00 late fee once the 3 grace days pass."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from backend.cases import handoffs
from backend.cases.models import Case, Note
from backend.console import queue_view
from backend.console.amounts import Amount
from backend.console.loan_panel import PaymentRow, PromiseRow, borrower_panel
from backend.console.queue_view import details_line, queue_rows
from backend.console.transcript_view import transcript_rows
from backend.conversations.messages import NewMessage, log_messages
from backend.conversations.models import Conversation
from backend.errors import Invalid, NotFound
from backend.ledger import service as ledger
from backend.ledger.models import Loan, Product
from backend.plans import service as plans
from backend.plans.models import ApprovalRequest
from backend.plans.policy import PlanPolicy
from backend.promises import service as promises
from backend.promises.rules import PromisePolicy
from backend.risk.models import LoanScore
from tests.backend import factories

AS_OF = date(2026, 4, 1)
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
SLA = timedelta(minutes=10)


def minutes_ago(n: int) -> datetime:
    return NOW - timedelta(minutes=n)


def flat_product(db: Session, code: str, currency: str = "CNY") -> Product:
    return factories.product(
        db,
        code=code,
        currency=currency,
        annual_rate=Decimal(0),
        schedule_type="equal_principal",
    )


def chat(db: Session, user_id: str, **kwargs: object) -> Conversation:
    return factories.conversation(db, user_id=user_id, **kwargs)  # type: ignore[arg-type]


def rows(db: Session, status: str = "waiting", **kwargs: object) -> list[queue_view.QueueRow]:
    return queue_rows(db, status=status, as_of=AS_OF, now=NOW, sla=SLA, **kwargs)  # type: ignore[arg-type]


class TestQueueRows:
    def test_distress_comes_first_then_complaints_and_disputes_then_the_rest(
        self, db: Session
    ) -> None:
        made = {
            "request-30": factories.handoff(
                db, conversation=chat(db, "1"), created_at=minutes_ago(30)
            ),
            "request-50": factories.handoff(
                db, conversation=chat(db, "2"), created_at=minutes_ago(50)
            ),
            "dispute-5": factories.handoff(
                db, conversation=chat(db, "3"), reason="dispute", created_at=minutes_ago(5)
            ),
            "distress-1": factories.handoff(
                db, conversation=chat(db, "4"), reason="distress", created_at=minutes_ago(1)
            ),
            "complaint-20": factories.handoff(
                db, conversation=chat(db, "5"), reason="complaint", created_at=minutes_ago(20)
            ),
        }
        order = ["distress-1", "complaint-20", "dispute-5", "request-50", "request-30"]
        listed = rows(db)
        assert [r.handoff_id for r in listed] == [made[k].id for k in order]
        assert [r.priority for r in listed] == ["urgent", "high", "high", "normal", "normal"]
        assert [r.waited_seconds for r in listed] == [60, 1200, 300, 3000, 1800]

    def test_within_a_priority_the_riskier_borrower_first_unless_one_waits_past_the_sla(
        self, db: Session
    ) -> None:
        made = {}
        for name, score in (("calm", 0.05), ("risky", 0.8), ("unscored", None)):
            who = factories.borrower(db, ref=f"B-{name}")
            loan = factories.loan(db, ref=f"L-{name}", who=who, prod=flat_product(db, name))
            if score is not None:
                db.add(LoanScore(as_of=AS_OF, loan_id=loan.id, roll_30=score, reasons=[]))
            made[name] = factories.handoff(
                db, conversation=chat(db, name, who=who), created_at=minutes_ago(3)
            )
        made["calm"].created_at = minutes_ago(4)  # waited longest, within the SLA
        db.flush()
        ids = {h.id: k for k, h in made.items()}
        assert [ids[r.handoff_id] for r in rows(db)] == ["risky", "calm", "unscored"]
        made["calm"].created_at = minutes_ago(12)  # now past the SLA: first
        db.flush()
        assert [ids[r.handoff_id] for r in rows(db)] == ["calm", "risky", "unscored"]

    def test_only_a_chat_still_waiting_past_the_sla_is_over_it(self, db: Session) -> None:
        over = factories.handoff(db, conversation=chat(db, "1"), created_at=minutes_ago(11))
        within = factories.handoff(db, conversation=chat(db, "2"), created_at=minutes_ago(9))
        served = factories.handoff(db, conversation=chat(db, "3"), created_at=minutes_ago(40))
        handoffs.take(db, handoff=served, collector="alice")
        served.taken_at = minutes_ago(20)
        db.flush()

        waiting = {r.handoff_id: r for r in rows(db)}
        assert (waiting[over.id].over_sla, waiting[over.id].waited_seconds) == (True, 660)
        assert (waiting[within.id].over_sla, waiting[within.id].waited_seconds) == (False, 540)
        [taken] = rows(db, "taken")
        assert (taken.over_sla, taken.waited_seconds, taken.taken_by) == (False, 1200, "alice")

    def test_a_borrower_with_loans_shows_the_worst_bucket_and_overdue_per_currency(
        self, db: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        who = factories.borrower(db, ref="B-7", full_name="李雷")
        # 45 days late on 1 Apr: Feb and Mar installments, each 1,000.00 + 50.00 fee, penalty
        # 45 and 17 days of 0.50 -> 2,131.00
        factories.loan(db, ref="L-A", who=who, prod=flat_product(db, "FA"))
        # 6,000.00 from 10 Feb: the 10 Mar installment of 500.00 is 22 days late, + 50.00 fee,
        # + 22 days of 0.25 penalty -> 555.50; CNY total 2,686.50
        factories.loan(
            db,
            ref="L-B",
            who=who,
            principal=600_000,
            disbursed_on=date(2026, 2, 10),
            prod=flat_product(db, "FB"),
        )
        # 1,200.00 USD from 20 Feb: the 20 Mar installment of 100.00 is 12 days late, + 50.00
        # fee, + 12 days of 0.05 penalty -> 150.60 USD
        factories.loan(
            db,
            ref="L-C",
            who=who,
            principal=120_000,
            disbursed_on=date(2026, 2, 20),
            prod=flat_product(db, "FC", currency="USD"),
        )
        factories.handoff(db, conversation=chat(db, "1", who=who), created_at=minutes_ago(3))
        factories.handoff(
            db,
            conversation=chat(db, "web-1", who=who, channel="webchat"),
            reason="dispute",
            created_at=minutes_ago(2),
        )
        calls: list[str] = []
        real = ledger.loan_statement

        def counted(session: Session, loan: Loan, as_of: date):  # type: ignore[no-untyped-def]
            calls.append(loan.ref)
            return real(session, loan, as_of)

        monkeypatch.setattr(queue_view.ledger, "loan_statement", counted)

        listed = rows(db)
        assert [r.channel for r in listed] == ["webchat", "telegram"]  # the dispute first
        for r in listed:
            assert (r.borrower_ref, r.borrower_name, r.language) == ("B-7", "李雷", "zh")
            assert (r.bucket, r.dpd) == ("31-60", 45)
            assert r.overdue == (Amount(268_650, "CNY"), Amount(15_060, "USD"))
            assert [a.text for a in r.overdue] == ["2,686.50 CNY", "150.60 USD"]
        assert sorted(calls) == ["L-A", "L-B", "L-C"]  # once per loan, not per handoff

    def test_loans_paid_off_give_no_bucket(self, db: Session) -> None:
        who = factories.borrower(db, ref="B-8")
        done = factories.loan(db, ref="L-P", who=who, prod=flat_product(db, "FP"))
        factories.payment(db, done, 1_200_000, date(2026, 1, 20), "PAY-ALL")
        factories.handoff(db, conversation=chat(db, "1", who=who))
        [row] = rows(db)
        assert row.borrower_ref == "B-8"
        assert (row.bucket, row.dpd, row.overdue) == (None, None, ())

    def test_an_unverified_chat_shows_no_borrower(self, db: Session) -> None:
        anonymous = chat(db, "visitor", channel="webchat")
        anonymous.language = "en"
        factories.handoff(db, conversation=anonymous, details="wants a person\nsecond line")
        [row] = rows(db)
        assert (row.channel, row.language, row.details) == ("webchat", "en", "wants a person")
        assert (row.borrower_ref, row.borrower_name, row.bucket, row.dpd, row.overdue) == (
            None,
            None,
            None,
            None,
            (),
        )

    def test_taken_chats_are_one_collectors_when_asked_oldest_taken_first(
        self, db: Session
    ) -> None:
        taken = []
        for user_id, collector, taken_minutes_ago in [
            ("1", "alice", 5),
            ("2", "bob", 30),
            ("3", "alice", 15),
        ]:
            h = factories.handoff(db, conversation=chat(db, user_id), created_at=minutes_ago(60))
            handoffs.take(db, handoff=h, collector=collector)
            h.taken_at = minutes_ago(taken_minutes_ago)
            taken.append(h)
        factories.handoff(db, conversation=chat(db, "4"))  # still waiting
        db.flush()

        assert [r.handoff_id for r in rows(db, "taken", taken_by="alice")] == [
            taken[2].id,
            taken[0].id,
        ]
        assert [r.handoff_id for r in rows(db, "taken")] == [
            taken[1].id,
            taken[2].id,
            taken[0].id,
        ]

    def test_closed_chats_are_newest_first(self, db: Session) -> None:
        closed = []
        for user_id, collector, closed_minutes_ago in [("1", "alice", 30), ("2", "alice", 5)]:
            h = factories.handoff(db, conversation=chat(db, user_id), created_at=minutes_ago(60))
            handoffs.take(db, handoff=h, collector=collector)
            handoffs.close(db, handoff=h, note="done")
            h.closed_at = minutes_ago(closed_minutes_ago)
            closed.append(h)
        bobs = factories.handoff(db, conversation=chat(db, "3"), created_at=minutes_ago(60))
        handoffs.take(db, handoff=bobs, collector="bob")
        handoffs.close(db, handoff=bobs, note="done")
        bobs.closed_at = minutes_ago(1)
        db.flush()

        assert [r.handoff_id for r in rows(db, "closed", taken_by="alice")] == [
            closed[1].id,
            closed[0].id,
        ]
        assert [r.handoff_id for r in rows(db, "closed")] == [bobs.id, closed[1].id, closed[0].id]

    def test_an_unknown_status_is_refused(self, db: Session) -> None:
        with pytest.raises(Invalid):
            rows(db, "lost")


class TestDetailsLine:
    def test_a_long_first_line_is_cut_to_120_characters(self) -> None:
        cut = details_line("x" * 200 + "\nmore")
        assert len(cut) == 120
        assert cut.endswith("…")

    def test_empty_details_give_an_empty_line(self) -> None:
        assert details_line("") == ""


class TestAmount:
    def test_text_groups_thousands_with_the_currencys_decimals(self) -> None:
        assert Amount(250_000, "CNY").text == "2,500.00 CNY"
        assert Amount(250_000, "JPY").text == "250,000 JPY"


class TestBorrowerPanel:
    def make_loan(self, db: Session) -> Loan:
        """12,000.00 at 12% in equal principal parts from 15 Jan: 1,000.00 principal a month
        plus 1% of what is left (120.00, 110.00, 100.00, ...); the Feb installment paid on the
        day, the Mar one not."""
        who = factories.borrower(db, ref="B-9", phone_e164="+8613800138009")
        loan = factories.loan(
            db, ref="L-9", who=who, prod=factories.product(db, schedule_type="equal_principal")
        )
        factories.payment(db, loan, 112_000, date(2026, 2, 15), "PAY-1")
        return loan

    def test_loan_figures_are_the_statements(self, db: Session) -> None:
        loan = self.make_loan(db)
        panel = borrower_panel(db, borrower_id=loan.borrower_id, as_of=AS_OF)
        assert (panel.ref, panel.phone_masked, panel.id_last4) == ("B-9", "+86*******8009", "123X")
        assert panel.date_of_birth == date(1990, 3, 7)
        [shown] = panel.loans
        assert (shown.ref, shown.product, shown.principal.text) == (
            "L-9",
            "Test cash loan",
            "12,000.00 CNY",
        )
        # The 15 Mar installment (1,000.00 + 110.00) is 17 days late: 50.00 fee, 17 days of
        # 0.50 penalty. Interest accrued on the April installment: 100.00 * 17/31 days.
        b = shown.breakdown
        assert (shown.paid_off, shown.dpd, shown.bucket) == (False, 17, "1-30")
        assert b.overdue_amount == b.due_now == Amount(116_850, "CNY")
        assert b.principal_outstanding == Amount(1_100_000, "CNY")
        assert (b.interest_outstanding.minor, b.fees_outstanding.minor) == (11_000, 5_000)
        assert b.penalty_outstanding.minor == 850
        assert b.total_outstanding.minor == 1_116_850
        assert b.accrued_interest.minor == 5_484
        assert b.payoff_amount.minor == 1_122_334
        assert shown.next_due == (date(2026, 4, 15), Amount(110_000, "CNY"))
        st = ledger.loan_statement(db, loan, AS_OF)
        assert (b.total_outstanding.minor, b.payoff_amount.minor, b.credit.minor) == (
            st.total_outstanding,
            st.payoff_amount,
            st.credit,
        )
        first, second, third = shown.schedule[:3]
        assert (first.state, first.paid.minor, first.outstanding.minor) == ("paid", 112_000, 0)
        assert (second.state, second.late, second.outstanding.minor) == ("overdue", True, 116_850)
        assert (third.state, third.owed.minor, third.settled) == ("upcoming", 110_000, False)
        assert len(shown.schedule) == 12
        assert shown.payments == (
            PaymentRow(date(2026, 2, 15), Amount(112_000, "CNY"), "PAY-1", "manual"),
        )

    def test_promises_are_listed_newest_first_with_their_outcome(self, db: Session) -> None:
        loan = self.make_loan(db)
        policy = PromisePolicy()
        promises.make_promise(
            db,
            loan=loan,
            amount=30_000,
            promised_date=date(2026, 3, 20),
            today=date(2026, 3, 16),
            policy=policy,
            source="bot",
            recorded_by=None,
        )
        promises.make_promise(
            db,
            loan=loan,
            amount=50_000,
            promised_date=date(2026, 4, 10),
            today=AS_OF,
            policy=policy,
            source="collector",
            recorded_by="alice",
        )
        [shown] = borrower_panel(db, borrower_id=loan.borrower_id, as_of=AS_OF).loans
        newest, first = shown.promises
        assert newest == PromiseRow(
            id=newest.id,
            amount=Amount(50_000, "CNY"),
            promised_date=date(2026, 4, 10),
            created_on=AS_OF,
            status="open",
            paid=Amount(0, "CNY"),
            source="collector",
            recorded_by="alice",
        )
        assert (first.status, first.source, first.promised_date) == (
            "broken",
            "bot",
            date(2026, 3, 20),
        )

    def test_a_payment_after_the_business_date_is_not_shown(self, db: Session) -> None:
        loan = self.make_loan(db)
        factories.payment(db, loan, 10_000, date(2026, 4, 2), "PAY-LATER")
        [shown] = borrower_panel(db, borrower_id=loan.borrower_id, as_of=AS_OF).loans
        assert [p.reference for p in shown.payments] == ["PAY-1"]

    def test_an_arrangement_shows_where_it_stands_on_the_date(self, db: Session) -> None:
        loan = factories.loan(db, ref="L-ARR")
        made, _ = plans.offers_for(db, loan, AS_OF, PlanPolicy())
        plans.accept(
            db,
            loan=loan,
            offer_id=made[0].id,
            today=AS_OF,
            policy=PlanPolicy(),
            agreed_by="collector:alice",
            conversation=None,
        )
        [shown] = borrower_panel(db, borrower_id=loan.borrower_id, as_of=AS_OF).loans
        [arranged] = shown.arrangements
        assert (arranged.kind, arranged.status, arranged.starts_on) == (
            "installment",
            "active",
            AS_OF,
        )
        assert (arranged.installments, arranged.agreed_by) == (len(made[0].rows), "collector:alice")
        assert arranged.settles == Amount(made[0].settles, "CNY")
        [before] = borrower_panel(
            db, borrower_id=loan.borrower_id, as_of=AS_OF - timedelta(days=1)
        ).loans
        assert before.arrangements[0].status == "not_started"

    def test_only_a_pending_approval_is_shown(self, db: Session) -> None:
        loan = self.make_loan(db)
        for status, settles in [("rejected", 900_000), ("pending", 800_000)]:
            db.add(
                ApprovalRequest(
                    loan_id=loan.id,
                    discount_share=Decimal("0.3"),
                    parts=1,
                    requested_on=date(2026, 3, 30),
                    settles_minor=settles,
                    discount_minor=300_000,
                    requested_by="bot",
                    status=status,
                )
            )
        db.flush()
        [shown] = borrower_panel(db, borrower_id=loan.borrower_id, as_of=AS_OF).loans
        assert shown.pending_approval is not None
        assert (shown.pending_approval.settles.text, shown.pending_approval.requested_by) == (
            "8,000.00 CNY",
            "bot",
        )

    def test_notes_cases_and_past_handoffs_are_the_borrowers(self, db: Session) -> None:
        loan = self.make_loan(db)
        who = loan.borrower
        own = chat(db, "1", who=who)
        other = chat(db, "2", who=factories.borrower(db, ref="B-OTHER"))
        db.add_all(
            [
                Note(
                    borrower_id=who.id,
                    conversation_id=own.id,
                    author="alice",
                    text="prefers calls after 6pm",
                    created_at=minutes_ago(60),
                ),
                Note(
                    borrower_id=who.id,
                    conversation_id=own.id,
                    author="bob",
                    text="promised to pay Friday",
                    created_at=minutes_ago(5),
                ),
                Note(
                    borrower_id=other.borrower_id,
                    conversation_id=other.id,
                    author="bob",
                    text="someone else",
                ),
                Case(
                    kind="dispute",
                    conversation_id=own.id,
                    borrower_id=who.id,
                    loan_id=loan.id,
                    details="the March charge",
                    created_at=minutes_ago(50),
                ),
                # filed before the chat was verified: it concerns the borrower it is bound to
                Case(kind="complaint", conversation_id=own.id, created_at=minutes_ago(10)),
                Case(kind="complaint", conversation_id=other.id, borrower_id=other.borrower_id),
            ]
        )
        for user_id in ["3", "4"]:
            h = factories.handoff(db, conversation=chat(db, user_id, who=who))
            handoffs.close(db, handoff=h, note="done")
        factories.handoff(db, conversation=own)  # open: not before
        db.flush()

        panel = borrower_panel(db, borrower_id=who.id, as_of=AS_OF)
        assert [(n.author, n.text) for n in panel.notes] == [
            ("bob", "promised to pay Friday"),
            ("alice", "prefers calls after 6pm"),
        ]
        assert [(c.kind, c.loan_ref) for c in panel.cases] == [
            ("complaint", None),
            ("dispute", "L-9"),
        ]
        assert panel.cases[1].details == "the March charge"
        assert panel.handoffs_before == 2

    def test_an_unknown_borrower_is_not_found(self, db: Session) -> None:
        with pytest.raises(NotFound):
            borrower_panel(db, borrower_id=999_999, as_of=AS_OF)


class TestTranscriptRows:
    def test_messages_come_oldest_first_and_page_after_a_cursor(self, db: Session) -> None:
        conversation = chat(db, "1")
        sent = [NOW + timedelta(seconds=s) for s in range(4)]
        log_messages(
            db,
            conversation=conversation,
            messages=[
                NewMessage(
                    sender="borrower",
                    text="hi",
                    intent="greet",
                    confidence=0.9,
                    sent_at=sent[0],
                ),
                NewMessage(
                    sender="bot",
                    text="What can I do?",
                    buttons=[{"title": "Balance", "payload": "/ask_balance"}],
                    sent_at=sent[1],
                ),
                NewMessage(sender="collector", author="alice", text="I am here", sent_at=sent[3]),
            ],
        )
        # logged later, sent earlier: it takes its place by the time sent
        log_messages(
            db,
            conversation=conversation,
            messages=[NewMessage(sender="system", text="alice joined", sent_at=sent[2])],
        )
        listed = transcript_rows(db, conversation_id=conversation.id)
        assert [r.text for r in listed] == ["hi", "What can I do?", "alice joined", "I am here"]
        assert (listed[0].intent, listed[0].confidence) == ("greet", 0.9)
        assert listed[1].buttons == ("Balance",)
        assert listed[3].author == "alice"

        after = transcript_rows(db, conversation_id=conversation.id, after=listed[1].id)
        assert [r.text for r in after] == ["alice joined", "I am here"]
        assert transcript_rows(db, conversation_id=conversation.id, after=listed[3].id) == []

    def test_another_chats_message_is_not_a_cursor(self, db: Session) -> None:
        mine, theirs = chat(db, "1"), chat(db, "2")
        [message] = log_messages(db, conversation=theirs, messages=[NewMessage(sender="bot")])
        with pytest.raises(NotFound):
            transcript_rows(db, conversation_id=mine.id, after=message.id)

    def test_an_unknown_conversation_is_not_found(self, db: Session) -> None:
        with pytest.raises(NotFound):
            transcript_rows(db, conversation_id=999_999)


def test_the_loan_panel_shows_the_latest_scores_with_their_reasons(db: Session) -> None:
    who = factories.borrower(db, ref="B-S")
    loan = factories.loan(db, ref="L-S", who=who, prod=flat_product(db, "FS"))
    reasons = [{"feature": "dpd", "weight": 1.2, "key": "dpd.high"}]
    db.add(LoanScore(as_of=AS_OF - timedelta(days=1), loan_id=loan.id, roll_30=0.2, reasons=[]))
    db.add(LoanScore(as_of=AS_OF, loan_id=loan.id, roll_30=0.61, pay_7=0.3, reasons=reasons))
    db.flush()
    [panel] = borrower_panel(db, borrower_id=who.id, as_of=AS_OF).loans
    assert panel.score is not None
    assert (panel.score.as_of, panel.score.roll_30, panel.score.pay_7) == (AS_OF, 0.61, 0.3)
    assert panel.score.reasons == ("dpd.high",)
