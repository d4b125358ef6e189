"""Right-party verification and the rule that a conversation sees only its own borrower."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import Settings
from backend.verification.models import WrongPersonReport
from tests.backend import factories
from tests.backend.api.conftest import TOKEN
from tests.backend.apps import app_over

AUTH = {"Authorization": f"Bearer {TOKEN}"}

CONV = "/api/v1/conversations/telegram/777"


def token_for(client: TestClient, borrower_ref: str) -> str:
    r = client.post(f"/api/v1/borrowers/{borrower_ref}/link-tokens")
    assert r.status_code == 201
    return str(r.json()["token"])


class TestLinkTokens:
    def test_a_token_binds_the_chat_once(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        token = token_for(client, "B-L1")
        first = client.post(f"{CONV}/verify/link-token", json={"token": token}).json()
        assert (first["status"], first["language"], first["first_name"]) == (
            "verified",
            "zh",
            "王芳",
        )
        assert client.get(CONV).json()["verified"] is True
        other = client.post(
            "/api/v1/conversations/webchat/abc/verify/link-token", json={"token": token}
        )
        assert other.json()["status"] == "failed"  # single use

    def test_the_chat_that_redeemed_a_token_sending_it_again_stays_verified(
        self, client: TestClient, db: Session, loan
    ) -> None:  # type: ignore[no-untyped-def]
        """A turn run again after a failure on the way (the action server restarted between
        the redemption and the replies) redeems its token again: not an invalid link, not
        an attempt, not a second binding in the audit trail. Once the chat is unbound, the
        token binds nothing."""
        token = token_for(client, "B-L1")
        for _ in range(2):
            again = client.post(f"{CONV}/verify/link-token", json={"token": token}).json()
            assert (again["status"], again["attempts_left"], again["first_name"]) == (
                "verified",
                3,
                "王芳",
            )
        bound = db.scalars(
            select(AuditEntry).where(AuditEntry.subject == "bound by link token")
        ).all()
        assert len(bound) == 1
        client.post(f"{CONV}/wrong-person", json={"note": "not me"})
        after = client.post(f"{CONV}/verify/link-token", json={"token": token}).json()
        assert after["status"] == "failed"
        assert client.get(CONV).json()["verified"] is False

    def test_an_unknown_token_fails_and_counts(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        r = client.post(f"{CONV}/verify/link-token", json={"token": "nope"}).json()
        assert (r["status"], r["attempts_left"]) == ("failed", 2)

    def test_an_expired_token_fails(self, client: TestClient, db: Session, loan) -> None:  # type: ignore[no-untyped-def]
        from datetime import timedelta

        from backend.types import utcnow
        from backend.verification.service import issue_link_token

        token, _ = issue_link_token(
            db, loan.borrower, now=utcnow() - timedelta(days=4), ttl=timedelta(hours=72)
        )
        db.commit()
        assert (
            client.post(f"{CONV}/verify/link-token", json={"token": token}).json()["status"]
            == "failed"
        )


class TestPhoneAndSecondFactor:
    def verify(self, client: TestClient, phone: str, factor: str) -> dict:  # type: ignore[type-arg]
        r = client.post(f"{CONV}/verify/phone", json={"phone": phone, "second_factor": factor})
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]

    def test_shared_phone_plus_last_four(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        assert self.verify(client, "+86 138 0013 8001", "123x")["status"] == "verified"

    def test_shared_phone_plus_date_of_birth(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        assert self.verify(client, "13800138001", "1990-03-07")["status"] == "verified"

    def test_unknown_phone_and_wrong_factor_look_the_same(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        a = self.verify(client, "+8613999999999", "123X")
        b = self.verify(client, "+8613800138001", "9999")
        assert (a["status"], b["status"]) == ("failed", "failed")
        assert set(a) == set(b) and a["language"] is None and a["first_name"] is None

    def test_three_failures_lock_and_offer_a_person(self, client: TestClient, loan) -> None:  # type: ignore[no-untyped-def]
        for _ in range(2):
            assert self.verify(client, "+8613800138001", "0000")["status"] == "failed"
        locked = self.verify(client, "+8613800138001", "0000")
        assert (locked["status"], locked["offer_human"]) == ("locked", True)
        # even the right answer waits for the lock to pass
        assert self.verify(client, "+8613800138001", "123X")["status"] == "locked"
        assert client.get(CONV).json()["verified"] is False

    def test_two_borrowers_on_one_phone_are_never_guessed_between(
        self, client: TestClient, db: Session
    ) -> None:
        twin = factories.borrower(db, ref="T2", id_last4="123X", phone_e164="+8613800138001")
        factories.borrower(db, ref="T1")
        db.commit()
        assert twin.id
        assert self.verify(client, "+8613800138001", "123X")["status"] == "failed"

    def test_a_number_without_its_country_code_is_read_in_the_phone_region(
        self, db: Session, settings: Settings
    ) -> None:
        factories.borrower(db, ref="SG1", phone_e164="+6591234567", id_last4="345D")
        db.commit()
        as_in_china = TestClient(app_over(db, settings), headers=AUTH)
        assert self.verify(as_in_china, "9123 4567", "345D")["status"] == "failed"  # +86...
        in_singapore = settings.model_copy(update={"phone_region": "SG"})
        as_in_singapore = TestClient(app_over(db, in_singapore), headers=AUTH)
        assert self.verify(as_in_singapore, "9123 4567", "345D")["status"] == "verified"
        # a number written with its country code is read as written, whatever the region
        other_chat = "/api/v1/conversations/telegram/778/verify/phone"
        r = as_in_singapore.post(
            other_chat, json={"phone": "+65 9123 4567", "second_factor": "345D"}
        )
        assert r.json()["status"] == "verified"

    def test_the_phone_region_is_a_country_phone_numbers_know(self) -> None:
        assert Settings(phone_region="sg", app_env="test").phone_region == "SG"
        with pytest.raises(ValueError, match="unknown phone region"):
            Settings(phone_region="XX", app_env="test")


class TestWrongPerson:
    def test_records_unbinds_and_discloses_nothing(
        self, client: TestClient, db: Session, loan
    ) -> None:  # type: ignore[no-untyped-def]
        factories.conversation(db, who=loan.borrower, user_id="777")
        db.commit()
        r = client.post(f"{CONV}/wrong-person", json={"note": "wrong number"})
        assert r.status_code == 200
        assert r.json()["verified"] is False
        assert "12000" not in r.text and "王芳" not in r.text
        assert client.get(f"{CONV}/loans").status_code == 403
        report = db.scalars(select(WrongPersonReport)).one()
        assert report.borrower_id == loan.borrower.id


class TestOnlyTheBoundBorrower:
    def test_unbound_conversation_gets_verify_first_and_no_data(
        self, client: TestClient, loan
    ) -> None:  # type: ignore[no-untyped-def]
        for path in ("/loans", "/loans/L1/balance", "/loans/L1/schedule", "/loans/L1/payments"):
            r = client.get(f"{CONV}{path}")
            assert r.status_code == 403, path
            assert r.json()["code"] == "verification_required"
            assert "12000" not in r.text
        assert client.post(f"{CONV}/loans/L1/payment-links", json={}).status_code == 403

    def test_bound_conversation_sees_its_own_loans(
        self, client: TestClient, db: Session, loan
    ) -> None:  # type: ignore[no-untyped-def]
        factories.conversation(db, who=loan.borrower, user_id="777")
        db.commit()
        loans = client.get(f"{CONV}/loans").json()
        assert [(x["loan_ref"], x["dpd"]) for x in loans] == [("L1", 45)]
        assert client.get(f"{CONV}/loans/L1/balance").json()["overdue_amount"] == "2261.79"
        link = client.post(f"{CONV}/loans/L1/payment-links", json={}).json()
        assert link["amount"] == "2261.79"

    def test_another_borrowers_loan_is_as_unknown_as_no_loan(
        self, client: TestClient, db: Session, loan
    ) -> None:  # type: ignore[no-untyped-def]
        other = factories.loan(db, ref="L2", disbursed_on=date(2026, 2, 1))
        factories.conversation(db, who=other.borrower, user_id="777")
        db.commit()
        mine = client.get(f"{CONV}/loans").json()
        assert [x["loan_ref"] for x in mine] == ["L2"]
        for path in ("/loans/L1/balance", "/loans/L1/schedule", "/loans/L1/payments"):
            theirs, missing = (
                client.get(f"{CONV}{path}"),
                client.get(f"{CONV}{path.replace('L1', 'NOPE')}"),
            )
            assert (theirs.status_code, theirs.json()["code"]) == (404, missing.json()["code"]), (
                path
            )
        assert client.post(f"{CONV}/loans/L1/payment-links", json={}).status_code == 404

    def test_reads_are_audited(self, client: TestClient, db: Session, loan) -> None:  # type: ignore[no-untyped-def]
        factories.conversation(db, who=loan.borrower, user_id="777")
        db.commit()
        client.get(f"{CONV}/loans/L1/balance", headers={"X-Service-Name": "actions"})
        entry = db.scalars(select(AuditEntry).where(AuditEntry.subject == "balance L1")).one()
        assert (entry.actor, entry.action, entry.borrower_id) == (
            "service:actions",
            "read",
            loan.borrower.id,
        )
        assert entry.via == f"GET {CONV}/loans/L1/balance"


def test_unknown_channel_is_refused(client: TestClient) -> None:
    r = client.put("/api/v1/conversations/fax/1", json={})
    assert r.status_code == 422 and "unknown channel" in r.json()["detail"]
