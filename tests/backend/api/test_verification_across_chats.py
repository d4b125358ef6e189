"""Verification attempts are limited per phone number, per borrower and for everyone, across
chats and channels: a client that picks a new chat id gets no new guesses (issue 15, finding 2).
Every request goes through the API the action server uses."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.audit.service import Actor
from backend.borrowers.models import Borrower
from backend.config import Settings
from backend.outbound.models import OutboundMessage
from backend.verification import lockout
from backend.verification.models import VerificationFailure, VerificationLock
from backend.verification.rules import phone_key
from tests.backend import factories
from tests.backend.api.committed import committing_clients, remove_chats

PHONE, RIGHT = "+8613800138001", "123X"  # the `loan` fixture's borrower
UNKNOWN_PHONE = "+8613999999999"
# 11:00 in Shanghai, inside the contact window; 23:00 there, outside it.
DAYTIME = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
NIGHT = datetime(2026, 4, 1, 15, 0, tzinfo=UTC)


def verify(
    client: TestClient, factor: str, *, chat: str, phone: str = PHONE, channel: str = "webchat"
) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/conversations/{channel}/{chat}/verify/phone",
        json={"phone": phone, "second_factor": factor},
        headers={"X-Service-Name": "actions"},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def wrong(n: int) -> str:
    return f"{n:04d}"  # never 123X


@pytest.fixture
def now() -> Iterator[list[datetime]]:
    """The time the API sees; tests move it by changing now[0]."""
    clock = [DAYTIME]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("backend.conversations.routes.utcnow", lambda: clock[0])
        mp.setattr("backend.outbound.routes.utcnow", lambda: clock[0])
        yield clock


class TestTheFortyOneChatsAttack:
    def test_new_chat_ids_get_no_new_guesses(
        self, client: TestClient, db: Session, loan, now
    ) -> None:  # type: ignore[no-untyped-def]
        answers = [verify(client, wrong(i), chat=f"attacker-{i}") for i in range(41)]
        assert [a["status"] for a in answers[:4]] == ["failed"] * 4
        # the fewer of the chat's (3) and the number's (5, across chats)
        assert [a["attempts_left"] for a in answers[:4]] == [2, 2, 2, 1]
        assert all(a["status"] == "locked" and a["offer_human"] for a in answers[4:])
        # Five guesses were judged, not 41.
        assert len(db.scalars(select(VerificationFailure)).all()) == 5
        # The right answer is refused too while locked, on any chat or channel.
        assert verify(client, RIGHT, chat="attacker-99")["status"] == "locked"
        assert verify(client, RIGHT, chat="555", channel="telegram")["status"] == "locked"
        assert verify(client, "1990-03-07", chat="556", channel="telegram")["status"] == "locked"
        assert client.get("/api/v1/conversations/telegram/555").json()["verified"] is False

    def test_an_unknown_number_is_answered_exactly_as_a_borrowers(
        self, client: TestClient, loan, now
    ) -> None:  # type: ignore[no-untyped-def]
        def run(phone: str, tag: str) -> list[tuple[Any, ...]]:
            answers = [verify(client, wrong(i), chat=f"{tag}-{i}", phone=phone) for i in range(7)]
            answers.append(verify(client, RIGHT, chat=f"{tag}-x", phone=phone))
            return [
                (a["status"], a["attempts_left"], a["offer_human"], a["locked_until"], sorted(a))
                for a in answers
            ]

        assert run(UNKNOWN_PHONE, "u") == run(PHONE, "k")

    def test_the_lock_lasts_its_time_then_the_borrower_gets_in(
        self, client: TestClient, loan, now
    ) -> None:  # type: ignore[no-untyped-def]
        for i in range(5):
            verify(client, wrong(i), chat=f"a-{i}")
        now[0] = DAYTIME + timedelta(hours=23, minutes=59)
        assert verify(client, RIGHT, chat="b-1")["status"] == "locked"
        now[0] = DAYTIME + timedelta(hours=24)
        assert verify(client, RIGHT, chat="b-2")["status"] == "verified"

    def test_staff_clear_the_lock(
        self, client: TestClient, db: Session, loan, settings: Settings, now
    ) -> None:  # type: ignore[no-untyped-def]
        for i in range(5):
            verify(client, wrong(i), chat=f"a-{i}")
        borrower = db.scalars(select(Borrower)).one()
        assert lockout.locks_of(db, borrower, secret=settings.id_hash_key, now=DAYTIME)
        lifted = lockout.clear(
            db,
            borrower,
            actor=Actor("user:sam", "console"),
            secret=settings.id_hash_key,
            now=now[0],
        )
        db.commit()
        assert lifted == 2  # the borrower's lock and their number's
        now[0] = DAYTIME + timedelta(minutes=1)
        assert verify(client, wrong(9), chat="b-0")["status"] == "failed"  # counting afresh
        assert verify(client, RIGHT, chat="b-1")["status"] == "verified"
        unlocked = db.scalars(
            select(AuditEntry).where(AuditEntry.subject == "phone verification unlocked")
        ).one()
        assert (unlocked.actor, unlocked.borrower_id) == ("user:sam", borrower.id)


class TestARealBorrower:
    def test_one_typo_still_gets_in(self, client: TestClient, loan, now) -> None:  # type: ignore[no-untyped-def]
        assert verify(client, "1243", chat="me")["status"] == "failed"
        assert verify(client, RIGHT, chat="me")["status"] == "verified"

    def test_one_typo_gets_in_after_someone_else_tried_a_few(
        self, client: TestClient, loan, now
    ) -> None:  # type: ignore[no-untyped-def]
        for i in range(3):
            verify(client, wrong(i), chat=f"other-{i}")
        assert verify(client, "1243", chat="me", channel="telegram")["attempts_left"] == 1
        assert verify(client, RIGHT, chat="me", channel="telegram")["status"] == "verified"

    def test_a_link_token_still_works_while_phone_verification_is_locked(
        self, client: TestClient, loan, now
    ) -> None:  # type: ignore[no-untyped-def]
        for i in range(5):
            verify(client, wrong(i), chat=f"a-{i}")
        token = client.post(f"/api/v1/borrowers/{loan.borrower.ref}/link-tokens").json()["token"]
        r = client.post(
            "/api/v1/conversations/telegram/me/verify/link-token", json={"token": token}
        )
        assert r.json()["status"] == "verified"


class TestTheLockIsToldAndAudited:
    def bound_chats(self, db: Session, borrower: Borrower) -> None:
        factories.conversation(db, who=borrower, channel="telegram", user_id="owner-tg")
        factories.conversation(db, who=borrower, channel="webchat", user_id="owner-web")
        db.commit()

    def notices(self, db: Session) -> list[OutboundMessage]:
        return list(db.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))

    def test_every_verified_chat_gets_the_notice_and_the_lock_is_audited(
        self,
        client: TestClient,
        db: Session,
        loan,
        now,  # type: ignore[no-untyped-def]
    ) -> None:
        self.bound_chats(db, loan.borrower)
        factories.conversation(db, channel="telegram", user_id="stranger")  # not the borrower's
        db.commit()
        for i in range(4):
            verify(client, wrong(i), chat=f"a-{i}")
        assert self.notices(db) == []  # nothing until the lock trips
        verify(client, wrong(4), chat="a-4")
        sent = self.notices(db)
        assert sorted(m.conversation.channel_user_id for m in sent) == ["owner-tg", "owner-web"]
        for message in sent:
            assert message.sender == "system" and message.status == "pending"
            assert "安全提醒" in message.text and "/human" in message.text
            assert "2026-04-02 11:00" in message.text  # the lock's end, Shanghai time
            assert message.next_attempt_at == DAYTIME  # inside the window: at once
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.subject.startswith("phone verification locked"))
        ).one()
        assert (entry.borrower_id, entry.actor) == (loan.borrower.id, "service:actions")
        assert "5 failed attempts in 24 h" in entry.subject
        # More refusals while locked tell no one again.
        verify(client, wrong(5), chat="a-5")
        assert len(self.notices(db)) == 2

    def test_at_night_the_notice_waits_for_the_contact_window(
        self,
        client: TestClient,
        db: Session,
        loan,
        now,  # type: ignore[no-untyped-def]
    ) -> None:
        self.bound_chats(db, loan.borrower)
        now[0] = NIGHT
        for i in range(5):
            verify(client, wrong(i), chat=f"a-{i}")
        opens = datetime(2026, 4, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
        assert [m.next_attempt_at for m in self.notices(db)] == [opens, opens]
        claim = {"limit": 10, "lease_seconds": 60}
        assert client.post("/api/v1/outbound/claim", json=claim).json() == []
        now[0] = opens
        assert len(client.post("/api/v1/outbound/claim", json=claim).json()) == 2

    def test_in_the_borrowers_language(self, client: TestClient, db: Session, now) -> None:  # type: ignore[no-untyped-def]
        emily = factories.borrower(
            db,
            ref="E1",
            full_name="Emily Chen",
            phone_e164="+6591234567",
            language="en",
            timezone="Asia/Singapore",
            id_last4="345D",
        )
        self.bound_chats(db, emily)
        for i in range(5):
            verify(client, wrong(i), chat=f"a-{i}", phone="+6591234567")
        [first, _] = self.notices(db)
        assert first.text.startswith("Security notice: someone tried several times to verify")
        assert "2026-04-02 11:00" in first.text  # Singapore time

    def test_an_unknown_numbers_lock_is_audited_without_a_borrower(
        self, client: TestClient, db: Session, loan, now
    ) -> None:  # type: ignore[no-untyped-def]
        for i in range(5):
            verify(client, wrong(i), chat=f"a-{i}", phone=UNKNOWN_PHONE)
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.subject.startswith("phone verification locked"))
        ).one()
        assert entry.borrower_id is None and "+86*******9999" in entry.subject
        assert UNKNOWN_PHONE not in entry.subject
        assert self.notices(db) == []
        # The number itself is not stored.
        keys = {f.phone_key for f in db.scalars(select(VerificationFailure))}
        assert len(keys) == 1 and UNKNOWN_PHONE not in keys
        assert db.scalars(select(VerificationLock)).one().scope == "phone"


class TestASweepAcrossManyNumbers:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"verify_global_max_failures": 12})

    def test_everyones_budget_stops_it(self, client: TestClient, db: Session, loan, now) -> None:  # type: ignore[no-untyped-def]
        answers = [
            verify(client, "1234", chat=f"s-{i}", phone=f"+86139000{i:05d}") for i in range(20)
        ]
        assert [a["status"] for a in answers[:11]] == ["failed"] * 11
        assert all(a["status"] == "locked" and a["offer_human"] for a in answers[11:])
        assert len(db.scalars(select(VerificationFailure)).all()) == 12
        # Every number is refused now, the borrower's with the right answer too ...
        assert verify(client, RIGHT, chat="me")["status"] == "locked"
        paused = db.scalars(
            select(AuditEntry).where(AuditEntry.subject.startswith("phone verification paused"))
        ).one()
        assert paused.borrower_id is None and "12 failed attempts in 1 h" in paused.subject
        # ... until the failures that filled the budget leave the window (a sliding hour).
        now[0] = DAYTIME + timedelta(minutes=59)
        assert verify(client, RIGHT, chat="me")["status"] == "locked"
        now[0] = DAYTIME + timedelta(hours=1)
        assert verify(client, RIGHT, chat="me")["status"] == "verified"


class TestGuessesSentAtOnce:
    """Requests that really commit, all at the same moment (SQLite and PostgreSQL): each one
    must see the failures before it, or twelve at once would be twelve guesses."""

    def test_only_the_limit_is_judged(self, committing_engine: Engine, settings: Settings) -> None:
        phone = f"+86139{random.randrange(10**8):08d}"  # nobody's: counted all the same
        chats = [f"rush-{uuid.uuid4().hex[:8]}-{i}" for i in range(12)]
        barrier = threading.Barrier(len(chats))
        answers: list[dict[str, Any]] = []
        errors: list[BaseException] = []

        def guess(client: TestClient, chat: str, n: int) -> None:
            try:
                barrier.wait()
                answers.append(verify(client, wrong(n), chat=chat, phone=phone))
            except BaseException as exc:  # surfaced below, not lost in the thread
                errors.append(exc)

        clients = committing_clients(committing_engine, settings, count=len(chats))
        threads = [
            threading.Thread(target=guess, args=(c, chat, n))
            for n, (c, chat) in enumerate(zip(clients, chats, strict=True))
        ]
        warm_up = f"{chats[0]}-0"  # an unreadable number: the chat's attempt only
        try:
            assert verify(clients[0], "0000", chat=warm_up, phone="000")["status"] == "failed"
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert errors == []
            statuses = sorted(a["status"] for a in answers)
            assert statuses == ["failed"] * 4 + ["locked"] * 8
            key = phone_key(phone, settings.id_hash_key)
            with Session(committing_engine) as check:
                judged = check.scalars(
                    select(VerificationFailure).where(VerificationFailure.phone_key == key)
                )
                assert len(judged.all()) == 5
        finally:
            with Session(committing_engine) as cleanup:
                key = phone_key(phone, settings.id_hash_key)
                cleanup.execute(
                    delete(VerificationFailure).where(VerificationFailure.phone_key == key)
                )
                cleanup.execute(delete(VerificationLock).where(VerificationLock.phone_key == key))
                cleanup.execute(delete(AuditEntry).where(AuditEntry.subject.contains(phone[-4:])))
                cleanup.commit()
            remove_chats(committing_engine, "webchat", [*chats, warm_up])
