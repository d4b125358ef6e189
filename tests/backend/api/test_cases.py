"""Cases filed from a chat, followed up by staff, and the contact holds they put in place."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.cases.models import Case
from backend.cases.service import proactive_contact_hold
from backend.ledger.models import Loan
from tests.backend import factories

CHAT = "/api/v1/conversations/telegram/42"


def bind(db: Session, loan: Loan, user_id: str = "42") -> None:
    factories.conversation(db, who=loan.borrower, user_id=user_id)
    db.commit()


def second_loan(db: Session, loan: Loan) -> Loan:
    other = factories.loan(db, ref="L2", who=loan.borrower)
    db.commit()
    return other


def file(client: TestClient, chat: str = CHAT, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post(f"{chat}/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def contact_hold(db: Session, loan: Loan, *, channel: str = "telegram") -> str | None:
    return proactive_contact_hold(
        db, borrower_id=loan.borrower_id, channel=channel, loan_id=loan.id
    )


class TestFilingFromAVerifiedChat:
    def test_a_dispute_is_recorded_against_the_borrowers_loan(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        case = file(client, kind="dispute", loan_ref="L1", details="I repaid this in March")
        assert (case["kind"], case["status"], case["loan_ref"]) == ("dispute", "open", "L1")
        assert set(case) == {"id", "kind", "status", "loan_ref", "hold", "created_at", "handoff"}
        row = db.get(Case, case["id"])
        assert row is not None
        assert (row.borrower_id, row.loan_id) == (loan.borrower_id, loan.id)
        assert row.conversation.channel_user_id == "42"

    def test_a_dispute_pauses_contact_for_that_loan_only(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        other = second_loan(db, loan)
        file(client, kind="dispute", loan_ref="L1", details="not mine")
        assert contact_hold(db, loan) == "dispute"
        assert contact_hold(db, other) is None

    def test_distress_pauses_every_loan_on_every_channel(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        other = second_loan(db, loan)
        file(client, kind="distress", details="I can't go on")
        assert contact_hold(db, loan) == "distress"
        assert contact_hold(db, other, channel="webchat") == "distress"

    def test_distress_hands_the_chat_to_a_person_at_once(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        case = file(client, kind="distress", details="help")
        assert case["handoff"]["reason"] == "distress"
        assert case["handoff"]["priority"] == "urgent"
        assert client.get(CHAT).json()["mode"] == "human"

    def test_a_hardship_hold_pauses_contact_while_open(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        case = file(client, kind="hardship", loan_ref="L1", details="lost my job", hold=True)
        assert case["hold"] is True
        assert contact_hold(db, loan) == "hardship_hold"
        client.patch(f"/api/v1/cases/{case['id']}", json={"status": "resolved"})
        assert contact_hold(db, loan) is None

    def test_a_hardship_report_without_a_hold_does_not_pause_contact(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        file(client, kind="hardship", loan_ref="L1", details="hours cut")
        assert contact_hold(db, loan) is None

    def test_a_loan_of_another_borrower_is_404_and_nothing_is_written(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        factories.loan(db, ref="L9")
        db.commit()
        r = client.post(f"{CHAT}/cases", json={"kind": "dispute", "loan_ref": "L9"})
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
        assert db.scalars(select(Case)).all() == []

    def test_every_case_filed_is_audited(self, client: TestClient, db: Session, loan: Loan) -> None:
        bind(db, loan)
        case = file(client, kind="complaint", details="rude caller")
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "create")).one()
        assert (entry.borrower_id, entry.subject) == (
            loan.borrower_id,
            f"case {case['id']} complaint",
        )


class TestFilingBeforeVerification:
    def test_anyone_can_opt_out_and_it_stops_that_channel(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        case = file(client, kind="opt_out", details="stop")
        assert case["loan_ref"] is None
        assert db.get(Case, case["id"]).borrower_id is None  # type: ignore[union-attr]

    def test_an_opt_out_before_verification_counts_once_the_chat_is_bound(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        file(client, kind="opt_out", details="退订")
        assert contact_hold(db, loan) is None  # nobody known yet
        conversation = db.scalars(select(Case)).one().conversation
        conversation.borrower = loan.borrower  # the same chat, verified later
        db.commit()
        assert contact_hold(db, loan, channel="telegram") == "opt_out"
        assert contact_hold(db, loan, channel="webchat") is None

    def test_complaint_and_distress_work_unverified_and_disclose_nothing(
        self, client: TestClient, loan: Loan
    ) -> None:
        complaint = file(client, kind="complaint", details="stop calling my mother")
        distress = file(client, kind="distress", details="...")
        for case in (complaint, distress):
            assert case["loan_ref"] is None
            assert "borrower" not in str(case)

    def test_a_dispute_needs_a_verified_chat(self, client: TestClient, db: Session) -> None:
        r = client.post(f"{CHAT}/cases", json={"kind": "dispute", "details": "not mine"})
        assert r.status_code == 403
        assert r.json()["code"] == "verification_required"
        assert db.scalars(select(Case)).all() == []
        assert client.get(CHAT).status_code == 404  # nothing written, not even the chat

    def test_naming_a_loan_needs_a_verified_chat(self, client: TestClient, loan: Loan) -> None:
        r = client.post(f"{CHAT}/cases", json={"kind": "complaint", "loan_ref": "L1"})
        assert r.status_code == 403
        assert r.json()["code"] == "verification_required"


class TestOptOutAndOptIn:
    def test_a_second_opt_out_returns_the_first(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        first = file(client, kind="opt_out")
        again = client.post(f"{CHAT}/cases", json={"kind": "opt_out"})
        assert again.status_code == 200
        assert again.json()["id"] == first["id"]

    def test_opting_in_resumes_proactive_messages(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        file(client, kind="opt_out")
        assert contact_hold(db, loan) == "opt_out"
        r = client.post(f"{CHAT}/opt-in")
        assert r.json() == {"withdrawn": 1}
        assert contact_hold(db, loan) is None

    def test_opting_in_from_an_unknown_chat_changes_nothing(self, client: TestClient) -> None:
        assert client.post(f"{CHAT}/opt-in").json() == {"withdrawn": 0}


class TestBadInput:
    def test_unknown_kind_is_422_with_its_code(self, client: TestClient) -> None:
        r = client.post(f"{CHAT}/cases", json={"kind": "refund"})
        assert r.status_code == 422
        assert r.json()["code"] == "unknown_kind"
        assert "dispute" in r.json()["detail"]

    def test_a_hold_on_anything_but_hardship_is_422(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        r = client.post(f"{CHAT}/cases", json={"kind": "dispute", "loan_ref": "L1", "hold": True})
        assert (r.status_code, r.json()["code"]) == (422, "hold_not_applicable")

    def test_unknown_channel_is_422(self, client: TestClient) -> None:
        r = client.post("/api/v1/conversations/fax/1/cases", json={"kind": "opt_out"})
        assert r.status_code == 422


class TestStaffFollowUp:
    def test_cases_listed_by_kind_status_and_borrower(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        dispute = file(client, kind="dispute", loan_ref="L1", details="wrong amount")
        file(client, chat="/api/v1/conversations/webchat/anon", kind="complaint")
        listed = client.get("/api/v1/cases", params={"kind": "dispute"}).json()
        assert [c["id"] for c in listed] == [dispute["id"]]
        assert listed[0]["borrower_ref"] == "B-L1"
        assert listed[0]["channel"] == "telegram"
        mine = client.get("/api/v1/cases", params={"borrower_ref": "B-L1", "status": "open"})
        assert [c["kind"] for c in mine.json()] == ["dispute"]
        assert len(client.get("/api/v1/cases").json()) == 2

    def test_listing_unknown_values_is_a_clear_error(self, client: TestClient) -> None:
        assert client.get("/api/v1/cases", params={"kind": "x"}).json()["code"] == "unknown_kind"
        assert client.get("/api/v1/cases", params={"borrower_ref": "NOPE"}).status_code == 404

    def test_staff_take_a_case_note_it_and_resolve_it(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        bind(db, loan)
        case = file(client, kind="dispute", loan_ref="L1")
        url = f"/api/v1/cases/{case['id']}"
        r = client.patch(url, json={"status": "in_progress", "owner": "alice", "note": "checking"})
        assert r.status_code == 200
        assert (r.json()["status"], r.json()["owner"]) == ("in_progress", "alice")
        assert "checking" in r.json()["notes"]
        assert contact_hold(db, loan) == "dispute"  # still open while it is worked
        done = client.patch(url, json={"status": "resolved", "note": "payment found"}).json()
        assert done["closed_at"] is not None
        assert contact_hold(db, loan) is None

    def test_a_resolved_case_is_final(self, client: TestClient, db: Session, loan: Loan) -> None:
        bind(db, loan)
        case = file(client, kind="complaint")
        url = f"/api/v1/cases/{case['id']}"
        client.patch(url, json={"status": "resolved"})
        r = client.patch(url, json={"status": "open"})
        assert (r.status_code, r.json()["code"]) == (409, "case_closed")

    def test_an_unknown_status_is_422(self, client: TestClient, loan: Loan) -> None:
        case = file(client, kind="complaint")
        r = client.patch(f"/api/v1/cases/{case['id']}", json={"status": "done"})
        assert (r.status_code, r.json()["code"]) == (422, "unknown_status")

    def test_reading_a_case_is_audited(self, client: TestClient, db: Session, loan: Loan) -> None:
        bind(db, loan)
        case = file(client, kind="complaint")
        client.get(f"/api/v1/cases/{case['id']}")
        reads = db.scalars(select(AuditEntry).where(AuditEntry.action == "read")).all()
        assert [(a.borrower_id, a.subject) for a in reads] == [
            (loan.borrower_id, f"case {case['id']}")
        ]

    def test_an_unknown_case_is_404(self, client: TestClient) -> None:
        assert client.get("/api/v1/cases/999").status_code == 404
