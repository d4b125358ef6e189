"""The generated demo history: deterministic, closed by today (nothing waiting, open or due),
consistent with the ledger, promises and outreach rules, and beside the fixed demo borrowers
without touching them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.cases.models import Case, Handoff
from backend.config import ROOT
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.db import make_engine
from backend.demo import history_texts as say
from backend.demo.history import REF_PREFIX, HistoryCounts, seed_history
from backend.demo.seed import seed_demo
from backend.demo.users import DEMO_USERS
from backend.ledger import service as ledger
from backend.ledger.models import Loan, Payment
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder
from backend.outreach.rules import DROP_REASONS
from backend.promises.models import Promise, PromiseEscalation
from backend.tuning.misunderstood import misunderstood
from backend.tuning.models import MessageLabel

TODAY = date(2026, 11, 29)
DAY_STARTS = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # 2026-11-29 00:00 in Asia/Shanghai
CONFIG = ROOT / "config"


def _seed(session: Session) -> HistoryCounts:
    assert seed_demo(session, id_hash_key="k", today=TODAY)
    counts = seed_history(session, id_hash_key="k", today=TODAY, config_dir=CONFIG)
    assert counts is not None
    return counts


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Session, HistoryCounts]]:
    """One seeded database per backend for the whole module (seeding takes seconds)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("history") / "history.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        with Session(engine, expire_on_commit=False) as session:
            counts = _seed(session)
            session.commit()
            yield session, counts
        engine.dispose()
        return
    pg: Engine = request.getfixturevalue("pg_engine")
    with pg.connect() as conn:
        outer = conn.begin()
        with Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session, _seed(session)
        outer.rollback()


def _history_loans(session: Session) -> list[Loan]:
    return list(session.scalars(select(Loan).where(Loan.ref.startswith(f"L-{REF_PREFIX}"))))


def _demo_borrower_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Borrower.id).where(Borrower.ref.startswith("DEMO-"))))


@pytest.mark.parametrize("seeded", ["sqlite"], indirect=True)
def test_is_the_same_on_every_fresh_database(
    seeded: tuple[Session, HistoryCounts], sqlite_template: Path, tmp_path: Path
) -> None:
    """The module's fresh file and another one (ids, and with them the champion/challenger
    split, start alike only on a fresh database: a shared PostgreSQL schema's sequences do not)."""
    first_session, first = seeded
    assert first.loans == len(_history_loans(first_session))
    shutil.copy(sqlite_template, tmp_path / "again.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    with Session(engine) as session:
        again = _seed(session)
        assert again.loans == len(_history_loans(session))
    engine.dispose()
    assert again == first
    assert 150 <= first.borrowers <= 300


class TestDemoHistory:
    def test_a_second_run_adds_nothing(self, seeded: tuple[Session, HistoryCounts]) -> None:
        session, counts = seeded
        before = session.scalar(select(func.count()).select_from(Message))
        assert seed_history(session, id_hash_key="k", today=TODAY, config_dir=CONFIG) is None
        assert session.scalar(select(func.count()).select_from(Message)) == before
        assert counts.messages <= before

    def test_leaves_the_fixed_demo_borrowers_without_history(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        session, _ = seeded
        demo = _demo_borrower_ids(session)
        assert len(demo) == 10
        assert not session.scalars(
            select(Conversation.id).where(Conversation.borrower_id.in_(demo))
        ).all()
        assert not session.scalars(select(Reminder.id).where(Reminder.borrower_id.in_(demo))).all()
        demo_payments = session.scalars(
            select(Payment.reference).join(Loan).where(Loan.borrower_id.in_(demo))
        ).all()
        assert all(ref.startswith(("DEMO-", "L-DEMO-")) for ref in demo_payments)
        demo_promises = session.scalars(
            select(Promise.id).join(Loan).where(Loan.borrower_id.in_(demo))
        ).all()
        assert len(demo_promises) == 1  # DEMO-10's broken promise, from the seed

    def test_nothing_is_left_waiting_open_or_due(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        session, _ = seeded
        assert not session.scalars(select(Handoff.id).where(Handoff.status != "closed")).all()
        assert not session.scalars(select(Conversation.id).where(Conversation.mode != "bot")).all()
        history_loans = [loan.id for loan in _history_loans(session)]
        assert not session.scalars(
            select(Promise.id).where(Promise.loan_id.in_(history_loans), Promise.status == "open")
        ).all()
        assert not session.scalars(
            select(PromiseEscalation.id).where(PromiseEscalation.cleared_at.is_(None))
        ).all()
        assert {s for (s,) in session.execute(select(Reminder.status).distinct())} == {
            "sent",
            "dropped",
        }
        assert not session.scalars(
            select(OutboundMessage.id).where(OutboundMessage.status == "pending")
        ).all()
        assert session.scalar(select(func.max(Reminder.occasion))) < TODAY
        assert session.scalar(select(func.max(Message.sent_at))) < DAY_STARTS
        assert session.scalar(select(func.max(Handoff.closed_at))) < DAY_STARTS
        # escalations depend on which promises broke twice: none at all is fine
        cleared = session.scalar(select(func.max(PromiseEscalation.cleared_at)))
        assert cleared is None or cleared < DAY_STARTS
        for stamp in (Payment.created_at, Promise.created_at):
            latest = session.scalar(
                select(func.max(stamp)).where(stamp.class_.loan_id.in_(history_loans))
            )
            assert latest < DAY_STARTS
        open_cases = session.scalars(select(Case.kind).where(Case.status == "open")).all()
        assert set(open_cases) == {"opt_out"}  # in force until the borrower opts in again

    def test_the_ledger_agrees_with_the_payments(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        session, _ = seeded
        buckets = set()
        for loan in _history_loans(session):
            st = ledger.loan_statement(session, loan, TODAY)
            paid = session.scalar(
                select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                    Payment.loan_id == loan.id
                )
            )
            assert st.payments_total == paid, loan.ref
            buckets.add(st.bucket.value)
        assert {"current", "1-30", "31-60", "61-90", "91-180"} <= buckets
        history = select(Loan.id).where(Loan.ref.startswith(f"L-{REF_PREFIX}"))
        for promise in session.scalars(select(Promise).where(Promise.loan_id.in_(history))):
            assert promise.resolved_on is not None and promise.resolved_on < TODAY
            assert promise.created_on <= promise.resolved_on

    def test_promises_are_kept_and_broken(self, seeded: tuple[Session, HistoryCounts]) -> None:
        session, _ = seeded
        outcomes = dict(
            session.execute(select(Promise.status, func.count()).group_by(Promise.status)).all()
        )
        assert outcomes.get("kept", 0) >= 10 and outcomes.get("broken", 0) >= 10
        sources = set(session.scalars(select(Promise.source).distinct()))
        assert sources == {"bot", "collector"}

    def test_chats_cover_both_channels_and_languages_with_some_misreadings(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        session, _ = seeded
        chats = set(session.execute(select(Conversation.channel, Conversation.language)).all())
        assert chats == {(c, lang) for c in ("telegram", "webchat") for lang in ("zh", "en")}
        fallbacks = session.scalar(select(func.count()).where(Message.intent == "nlu_fallback"))
        assert fallbacks >= 10
        since = datetime.combine(TODAY - timedelta(days=30), datetime.min.time(), tzinfo=UTC)
        inbox = misunderstood(session, threshold=0.6, since=since)
        assert 20 <= len(inbox) <= 150
        assert {"fallback", "rephrase", "handoff"} <= {why for row in inbox for why in row.why}
        assert session.scalar(select(func.count()).select_from(MessageLabel)) >= 3

    def test_handoffs_were_taken_by_demo_staff_within_minutes(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        session, _ = seeded
        handoffs = list(session.scalars(select(Handoff)))
        assert len(handoffs) >= 20
        staff = {u[0] for u in DEMO_USERS}
        waits = []
        for h in handoffs:
            assert h.taken_by in staff
            assert h.taken_at is not None and h.closed_at is not None
            assert h.created_at < h.taken_at < h.closed_at
            waits.append((h.taken_at - h.created_at).total_seconds())
        assert min(waits) >= 30 and max(waits) <= 20 * 60
        assert sorted(waits)[len(waits) // 2] <= 5 * 60

    def test_cases_keep_the_words_that_raised_them(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        """As the assistant files them: a hardship case holds "I lost my job", not the "got it"
        said to the collector at the end of the chat."""
        session, _ = seeded
        intent = {
            "hardship": "report_hardship",
            "complaint": "complaint",
            "dispute": "dispute_debt",
            "distress": "distress",
        }
        said = {
            kind: {line for lines in say.BORROWER[name].values() for line in lines}
            for kind, name in intent.items()
        }
        cases = [c for c in session.scalars(select(Case)) if c.kind in said]
        assert {c.kind for c in cases} >= {"hardship", "dispute"}
        for case in cases:
            assert case.details in said[case.kind], (case.kind, case.details)
        asked = list(session.scalars(select(Handoff)))
        farewells = set(say.BORROWER_TO_COLLECTOR["zh"]) | set(say.BORROWER_TO_COLLECTOR["en"])
        assert not [h.details for h in asked if h.details in farewells]

    def test_reminders_follow_the_schedule_and_the_rules(
        self, seeded: tuple[Session, HistoryCounts]
    ) -> None:
        session, _ = seeded
        reminders = list(session.scalars(select(Reminder)))
        dropped = {r.reason for r in reminders if r.status == "dropped"}
        assert len(dropped) >= 2 and dropped <= {*DROP_REASONS, "no_longer_due", "no_chat"}
        assert any(r.decisions > 1 and r.status == "sent" for r in reminders)  # deferred first
        variants = {(r.step_id, r.variant) for r in reminders if r.status == "sent"}
        assert {("overdue_1", "champion"), ("overdue_1", "challenger")} <= variants
        sent = [r for r in reminders if r.status == "sent"]
        outbox = {
            o.id: o
            for o in session.scalars(
                select(OutboundMessage).where(OutboundMessage.id.in_([r.outbound_id for r in sent]))
            )
        }
        for r in sent:
            message = outbox[r.outbound_id]  # type: ignore[index]
            assert message.author == f"outreach:{r.step_id}"
            assert r.sent_at is not None and r.sent_at < DAY_STARTS
        zones = dict(session.execute(select(Borrower.id, Borrower.timezone)).all())
        for r in sent:
            local = r.sent_at.astimezone(ZoneInfo(zones[r.borrower_id]))  # type: ignore[union-attr]
            assert 8 <= local.hour < 21  # the contact window
