"""A write the action server sends again with its `Idempotency-Key` is answered as the first
time and done once (backend/idempotency.py): on SQLite and PostgreSQL."""

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, Engine, delete, func, select, update
from sqlalchemy.orm import Session

from backend import idempotency
from backend.cases.models import Case
from backend.config import Settings
from backend.conversations.models import Conversation
from backend.idempotency import KeptAnswer
from backend.ledger.models import Arrangement, Loan
from backend.payments.models import PaymentLink
from backend.types import utcnow
from backend.verification.models import VerificationFailure, WrongPersonReport
from tests.backend import factories
from tests.backend.api.committed import committing_clients, remove_chats

CHAT = "/api/v1/conversations/telegram/42"
KEY = "m1017/action_open_dispute.0/1"


def keyed(key: str = KEY) -> dict[str, str]:
    return {"Idempotency-Key": key}


def bind(db: Session, loan: Loan, user_id: str = "42") -> None:
    factories.conversation(db, who=loan.borrower, user_id=user_id)
    db.commit()


def count(db: Session, table: type) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0


def count_where(db: Session, table: type, where: ColumnElement[bool]) -> int:
    return db.scalar(select(func.count()).select_from(table).where(where)) or 0


def remove_chats_and_cases(engine: Engine, user_ids: list[str], path: str) -> None:
    """What a committing test wrote: the chats' cases, the kept answer, the chats."""
    with Session(engine) as session:
        chats = select(Conversation.id).where(Conversation.channel_user_id.in_(user_ids))
        session.execute(delete(Case).where(Case.conversation_id.in_(chats)))
        digest = hashlib.sha256(f"POST {path} {KEY}".encode()).hexdigest()
        session.execute(delete(KeptAnswer).where(KeptAnswer.digest == digest))
        session.commit()
    remove_chats(engine, "telegram", user_ids)


COMPLAINT = {"kind": "complaint", "details": "rude"}
DISPUTE = {"kind": "dispute", "loan_ref": "L1", "details": "I repaid this in March"}


class TestACaseSentAgain:
    def test_is_filed_once_and_answered_as_the_first_time(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        first = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        again = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert count(db, Case) == 1

    def test_another_key_is_another_case(self, client: TestClient, db: Session, loan: Loan) -> None:
        bind(db, loan)
        client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed(KEY.replace("m1017", "m1018")))
        client.post(f"{CHAT}/cases", json=DISPUTE)  # no key: as before keys
        assert count(db, Case) == 3

    def test_the_same_key_from_another_chat_is_that_chats_own(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        body = {"kind": "complaint", "details": "rude"}
        mine = client.post(f"{CHAT}/cases", json=body, headers=keyed())
        theirs = client.post("/api/v1/conversations/telegram/43/cases", json=body, headers=keyed())
        assert (mine.status_code, theirs.status_code) == (201, 201)
        assert mine.json()["id"] != theirs.json()["id"]
        assert "Idempotent-Replayed" not in theirs.headers

    def test_a_refusal_is_not_kept_the_try_again_is_asked_afresh(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        refused = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        assert refused.json()["code"] == "verification_required"
        bind(db, loan)
        assert client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed()).status_code == 201
        assert count(db, Case) == 1

    def test_after_two_days_the_key_is_forgotten(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        db.execute(update(KeptAnswer).values(created_at=utcnow() - timedelta(days=2, seconds=1)))
        db.commit()
        again = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        assert "Idempotent-Replayed" not in again.headers
        assert count(db, Case) == 2
        # The worker's daily prune takes what is past its two days, not the fresh answer.
        db.execute(update(KeptAnswer).values(created_at=utcnow() - timedelta(days=3)))
        db.commit()
        client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed(KEY + "1"))
        assert idempotency.prune(db, utcnow()) == 1
        db.commit()
        assert count(db, KeptAnswer) == 1

    def test_a_stale_answer_pruned_meanwhile_is_kept_afresh(
        self, client: TestClient, db: Session, loan: Loan, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        bind(db, loan)
        client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        db.execute(update(KeptAnswer).values(created_at=utcnow() - timedelta(days=3)))
        db.commit()
        looked_up = idempotency.Once.earlier

        def earlier_then_pruned(once: idempotency.Once) -> Any:
            found = looked_up(once)
            idempotency.prune(once._session, utcnow())  # the worker's daily prune, in between
            return found

        monkeypatch.setattr(idempotency.Once, "earlier", earlier_then_pruned)
        again = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        monkeypatch.undo()
        replayed = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed())
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json() == again.json()
        assert count(db, Case) == 2

    def test_a_malformed_key_is_refused(self, client: TestClient, db: Session, loan: Loan) -> None:
        bind(db, loan)
        r = client.post(f"{CHAT}/cases", json=DISPUTE, headers=keyed("a key with spaces"))
        assert r.status_code == 422
        assert count(db, Case) == 0


class TestOtherWritesSentAgain:
    def test_an_accepted_offer_is_arranged_once_and_the_repeat_says_arranged(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        offer = client.get(f"{CHAT}/loans/L1/offers").json()["offers"][0]
        body = {"offer_id": offer["id"]}
        first = client.post(f"{CHAT}/loans/L1/arrangements", json=body, headers=keyed())
        again = client.post(f"{CHAT}/loans/L1/arrangements", json=body, headers=keyed())
        assert first.status_code == again.status_code == 201, again.text
        assert again.json() == first.json() and first.json()["status"] == "arranged"
        # Without the key, the repeat is refused: the offer went with the arrangement.
        assert client.post(f"{CHAT}/loans/L1/arrangements", json=body).status_code == 409
        assert count(db, Arrangement) == 1

    def test_a_payment_link_sent_again_is_the_same_link(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        first = client.post(f"{CHAT}/loans/L1/payment-links", json={}, headers=keyed())
        again = client.post(f"{CHAT}/loans/L1/payment-links", json={}, headers=keyed())
        assert first.status_code == again.status_code == 201, again.text
        assert again.json()["url"] == first.json()["url"]
        assert count(db, PaymentLink) == 1

    def test_a_failed_verification_sent_again_counts_once(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        attempt = {"phone": "+8613800138001", "second_factor": "0000"}
        first = client.post(f"{CHAT}/verify/phone", json=attempt, headers=keyed())
        again = client.post(f"{CHAT}/verify/phone", json=attempt, headers=keyed())
        assert first.json() == again.json()
        assert first.json()["status"] == "failed"
        assert count(db, VerificationFailure) == 1
        # A new try (a new message, a new key) counts.
        client.post(f"{CHAT}/verify/phone", json=attempt, headers=keyed(KEY + "2"))
        assert count(db, VerificationFailure) == 2

    def test_a_wrong_person_report_sent_again_is_recorded_once(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        for _ in range(2):
            r = client.post(f"{CHAT}/wrong-person", json={"note": "wrong"}, headers=keyed())
            assert r.status_code == 200 and r.json()["verified"] is False
        assert count(db, WrongPersonReport) == 1


class TestTwoAtOnce:
    """PostgreSQL runs two calls side by side (SQLite takes its write lock as a transaction
    begins, so the second there finds the first's answer): both find no answer, both write."""

    def test_the_one_that_commits_second_is_rolled_back_and_answered_as_the_first(
        self, pg_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        user_id = f"twice-{uuid.uuid4().hex[:8]}"
        try:
            answers = complain_twice_at_once(pg_engine, settings, monkeypatch, user_id)
            assert answers[0].json() == answers[1].json()
            assert cases_of(pg_engine, user_id) == 1
        finally:
            remove_chats_and_cases(pg_engine, [user_id, f"{user_id}-0"], cases_path(user_id))

    def test_a_key_back_after_two_days_is_renewed_once(
        self, pg_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        user_id = f"stale-{uuid.uuid4().hex[:8]}"
        path = cases_path(user_id)
        digest = hashlib.sha256(f"POST {path} {KEY}".encode()).hexdigest()

        def kept_three_days_ago(client: TestClient) -> None:
            first = client.post(path, json=COMPLAINT, headers=keyed())
            assert first.status_code == 201, first.text
            with Session(pg_engine) as session:
                session.execute(
                    update(KeptAnswer)
                    .where(KeptAnswer.digest == digest)
                    .values(created_at=utcnow() - timedelta(days=3))
                )
                session.commit()

        try:
            answers = complain_twice_at_once(
                pg_engine, settings, monkeypatch, user_id, before=kept_three_days_ago
            )
            assert answers[0].json() == answers[1].json()
            # The case of three days ago, and one new one: not two.
            assert cases_of(pg_engine, user_id) == 2
            with Session(pg_engine) as session:
                kept = session.get(KeptAnswer, digest)
                assert kept is not None and kept.created_at > utcnow() - timedelta(minutes=1)
                assert json.loads(kept.body) == answers[0].json()
        finally:
            remove_chats_and_cases(pg_engine, [user_id, f"{user_id}-0"], path)


def cases_path(user_id: str) -> str:
    return f"/api/v1/conversations/telegram/{user_id}/cases"


def cases_of(engine: Engine, user_id: str) -> int:
    with Session(engine) as check:
        chat = check.scalar(select(Conversation.id).where(Conversation.channel_user_id == user_id))
        return count_where(check, Case, Case.conversation_id == chat)


def complain_twice_at_once(
    pg_engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    user_id: str,
    before: Callable[[TestClient], None] | None = None,
) -> list[Any]:
    """The same keyed complaint from two committing clients, both held after their look-up of
    the key until the other has looked too; both answers (201, one of them replayed)."""
    path = cases_path(user_id)
    both_looked = threading.Barrier(2)
    looked_up = idempotency.Once.earlier

    def earlier_then_wait(once: idempotency.Once) -> Any:
        found = looked_up(once)
        both_looked.wait(timeout=10)  # neither has committed: the two really are at once
        return found

    answers: list[Any] = []
    errors: list[BaseException] = []

    def complain(client: TestClient) -> None:
        try:
            answers.append(client.post(path, json=COMPLAINT, headers=keyed()))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    clients = committing_clients(pg_engine, settings)
    warm_up = cases_path(f"{user_id}-0")
    assert clients[0].post(warm_up, json=COMPLAINT).status_code == 201
    chat = f"/api/v1/conversations/telegram/{user_id}"
    assert clients[0].put(chat, json={}).status_code == 200  # only the cases race
    if before is not None:
        before(clients[0])
    monkeypatch.setattr(idempotency.Once, "earlier", earlier_then_wait)
    threads = [threading.Thread(target=complain, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(a.status_code for a in answers) == [201, 201], [a.text for a in answers]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    return answers
