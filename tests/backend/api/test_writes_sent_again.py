"""A write the action server sends again with its `Idempotency-Key` is answered as the first
time and done once (backend/idempotency.py): on SQLite and PostgreSQL."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend import idempotency
from backend.cases.models import Case
from backend.idempotency import KeptAnswer
from backend.ledger.models import Arrangement, Loan
from backend.payments.models import PaymentLink
from backend.types import utcnow
from backend.verification.models import VerificationFailure, WrongPersonReport
from tests.backend import factories

CHAT = "/api/v1/conversations/telegram/42"
KEY = "m1017/action_open_dispute.0/1"


def keyed(key: str = KEY) -> dict[str, str]:
    return {"Idempotency-Key": key}


def bind(db: Session, loan: Loan, user_id: str = "42") -> None:
    factories.conversation(db, who=loan.borrower, user_id=user_id)
    db.commit()


def count(db: Session, table: type) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0


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
