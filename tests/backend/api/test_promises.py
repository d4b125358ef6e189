"""Promises to pay through the API, on SQLite and PostgreSQL.

The test loan on 1 April 2026 (TODAY): 2,261.79 overdue, 12,415.33 settles it, so a promise may
be dated 1 to 15 April and must be at least 452.36 (20% of the overdue amount).
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEntry
from backend.config import Settings
from backend.ledger import events
from backend.ledger import service as ledger
from backend.ledger.models import Loan, Payment
from backend.promises.models import Promise
from backend.promises.rules import PromisePolicy
from tests.backend import factories
from tests.backend.api.conftest import TODAY

MINE = "/api/v1/conversations/telegram/42/loans/L1"


@pytest.fixture(autouse=True)
def policy(client: TestClient) -> PromisePolicy:
    """The policy these figures assume, whatever config/promises.yml says today."""
    pinned = PromisePolicy(
        max_days_ahead=14,
        min_share_of_overdue=Decimal("0.2"),
        min_amount={"CNY": Decimal("100")},
        kept_share=Decimal("0.95"),
        grace_days=3,
        broken_in_a_row_to_escalate=2,
    )
    client.app.state.promise_policy = pinned  # type: ignore[attr-defined]
    return pinned


@pytest.fixture
def chat(db: Session, loan: Loan) -> None:
    """Telegram user 42, verified as the test loan's borrower."""
    factories.conversation(db, who=loan.borrower)
    db.commit()


def promise(client: TestClient, amount: str = "500.00", on: str = "2026-04-10") -> Any:
    return client.post(f"{MINE}/promises", json={"amount": amount, "promised_date": on})


def pay(client: TestClient, amount: str, reference: str, **extra: str) -> None:
    r = client.post(
        "/api/v1/loans/L1/payments", json={"amount": amount, "reference": reference, **extra}
    )
    assert r.status_code in (200, 201), r.text


def evaluate(client: TestClient, as_of: str) -> Any:
    r = client.post("/api/v1/promises/evaluate", params={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()


def only_promise(client: TestClient) -> Any:
    rows = client.get("/api/v1/loans/L1/promises").json()
    assert len(rows) == 1
    return rows[0]


def audited(db: Session, subject: str) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).where(AuditEntry.subject.like(subject))))


@pytest.mark.usefixtures("chat")
class TestPromisePolicy:
    def test_states_the_window_and_the_minimum_for_the_loan_today(
        self, client: TestClient, db: Session
    ) -> None:
        body = client.get(f"{MINE}/promise-policy").json()
        assert body["as_of"] == TODAY.isoformat()
        assert (body["earliest_date"], body["latest_date"]) == ("2026-04-01", "2026-04-15")
        assert (body["minimum_amount"], body["maximum_amount"]) == ("452.36", "12415.33")
        assert (body["overdue_amount"], body["currency"]) == ("2261.79", "CNY")
        assert (body["kept_share"], body["grace_days"]) == ("0.95", 3)
        assert (body["can_promise"], body["reason_code"], body["open_promise"]) == (
            True,
            None,
            None,
        )
        assert audited(db, "promise policy L1") == ["read"]

    def test_says_when_a_promise_is_already_open(self, client: TestClient) -> None:
        promise(client)
        body = client.get(f"{MINE}/promise-policy").json()
        assert (body["can_promise"], body["reason_code"]) == (False, "promise_already_open")
        assert body["open_promise"]["amount"] == "500.00"

    def test_the_absolute_minimum_applies_when_nothing_is_overdue(self, client: TestClient) -> None:
        body = client.get("/api/v1/loans/L1/promise-policy", params={"as_of": "2026-02-10"}).json()
        assert (body["overdue_amount"], body["minimum_amount"]) == ("0.00", "100.00")


@pytest.mark.usefixtures("chat")
class TestCreatePromise:
    def test_records_a_promise_within_policy(self, client: TestClient, db: Session) -> None:
        r = promise(client, "500.00", "2026-04-10")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body | {"id": 0, "created_at": None} == {
            "id": 0,
            "loan_ref": "L1",
            "amount": "500.00",
            "currency": "CNY",
            "promised_date": "2026-04-10",
            "pay_by": "2026-04-13",
            "status": "open",
            "paid": "0.00",
            "created_on": "2026-04-01",
            "created_at": None,
            "evaluated_on": None,
            "resolved_on": None,
            "source": "bot",
            "recorded_by": "service:service",
        }
        assert [p["id"] for p in client.get(f"{MINE}/promises").json()] == [body["id"]]
        stored = db.scalars(select(Promise)).one()
        assert stored.conversation_id is not None
        assert audited(db, f"promise {body['id']} on L1") == ["create"]
        assert audited(db, "promises L1") == ["read"]

    def test_accepts_the_minimum_on_the_last_day_of_the_window(self, client: TestClient) -> None:
        assert promise(client, "452.36", "2026-04-15").status_code == 201

    def test_accepts_a_promise_to_pay_today(self, client: TestClient) -> None:
        assert promise(client, "2261.79", TODAY.isoformat()).status_code == 201

    def test_refuses_a_date_in_the_past(self, client: TestClient) -> None:
        r = promise(client, on="2026-03-31")
        assert (r.status_code, r.json()["code"]) == (422, "promise_date_in_past")
        assert "from 2026-04-01 to 2026-04-15" in r.json()["detail"]

    def test_refuses_a_date_beyond_the_window(self, client: TestClient) -> None:
        r = promise(client, on="2026-04-16")
        assert (r.status_code, r.json()["code"]) == (422, "promise_beyond_window")
        assert "from 2026-04-01 to 2026-04-15" in r.json()["detail"]
        assert r.json()["params"] == {
            "promised_date": "2026-04-16",
            "earliest": "2026-04-01",
            "latest": "2026-04-15",
            "days": 14,
        }

    def test_refuses_an_amount_below_the_minimum(self, client: TestClient) -> None:
        r = promise(client, amount="452.35")
        assert (r.status_code, r.json()["code"]) == (422, "promise_below_minimum")
        assert "at least 452.36 CNY" in r.json()["detail"]
        assert r.json()["params"] == {"amount": "452.35", "currency": "CNY", "minimum": "452.36"}

    def test_refuses_more_than_settles_the_loan(self, client: TestClient) -> None:
        r = promise(client, amount="12415.34")
        assert (r.status_code, r.json()["code"]) == (422, "promise_above_balance")
        assert "at most 12415.33 CNY" in r.json()["detail"]
        assert r.json()["params"]["maximum"] == "12415.33"

    def test_refuses_an_amount_with_more_than_two_decimals(self, client: TestClient) -> None:
        r = promise(client, amount="500.005")
        assert (r.status_code, r.json()["code"]) == (422, "invalid_amount")

    def test_refuses_a_second_open_promise(self, client: TestClient, db: Session) -> None:
        assert promise(client).status_code == 201
        r = promise(client, "600.00", "2026-04-12")
        assert (r.status_code, r.json()["code"]) == (409, "promise_already_open")
        assert "500.00 CNY by 2026-04-10" in r.json()["detail"]
        assert r.json()["params"] == {
            "amount": "500.00",
            "currency": "CNY",
            "promised_date": "2026-04-10",
        }
        assert len(db.scalars(select(Promise)).all()) == 1

    def test_a_refused_promise_leaves_nothing_behind(self, client: TestClient, db: Session) -> None:
        promise(client, on="2026-05-01")
        assert db.scalars(select(Promise)).all() == []


class TestCollectorRecordsAPromise:
    def test_records_who_took_it(self, client: TestClient, loan: Loan) -> None:
        r = client.post(
            "/api/v1/loans/L1/promises",
            json={"amount": "800.00", "promised_date": "2026-04-08", "recorded_by": "user:alice"},
        )
        assert r.status_code == 201, r.text
        assert (r.json()["source"], r.json()["recorded_by"]) == ("collector", "user:alice")
        assert only_promise(client)["amount"] == "800.00"

    def test_the_same_policy_as_the_assistant(self, client: TestClient, loan: Loan) -> None:
        r = client.post(
            "/api/v1/loans/L1/promises", json={"amount": "100.00", "promised_date": "2026-04-08"}
        )
        assert (r.status_code, r.json()["code"]) == (422, "promise_below_minimum")

    def test_an_unknown_loan_is_404(self, client: TestClient) -> None:
        r = client.post(
            "/api/v1/loans/NOPE/promises", json={"amount": "800.00", "promised_date": "2026-04-08"}
        )
        assert r.status_code == 404


@pytest.mark.usefixtures("chat")
class TestKeepingAPromise:
    def test_a_payment_that_reaches_the_promise_keeps_it_at_once(self, client: TestClient) -> None:
        promise(client, "500.00", "2026-04-10")
        pay(client, "480.00", "R1")  # 96% of the promise: within the 95% tolerance
        kept = only_promise(client)
        assert (kept["status"], kept["paid"], kept["resolved_on"]) == (
            "kept",
            "480.00",
            "2026-04-01",
        )

    def test_a_smaller_payment_leaves_it_open_then_partly_kept(self, client: TestClient) -> None:
        promise(client, "500.00", "2026-04-10")
        pay(client, "100.00", "R1")
        assert (only_promise(client)["status"], only_promise(client)["paid"]) == ("open", "100.00")
        assert evaluate(client, "2026-04-13")["still_open"] == 1  # the last day of grace
        run = evaluate(client, "2026-04-14")
        assert (run["partly_kept"], run["broken"], run["escalated_loans"]) == (1, 0, [])
        assert only_promise(client)["status"] == "partly_kept"

    def test_a_payment_made_before_the_promise_does_not_keep_it(self, client: TestClient) -> None:
        pay(client, "500.00", "R0")
        promise(client, "500.00", "2026-04-10")
        assert evaluate(client, "2026-04-05")["still_open"] == 1
        assert only_promise(client)["paid"] == "0.00"

    def test_a_promise_kept_stays_kept(self, client: TestClient) -> None:
        promise(client, "500.00", "2026-04-10")
        pay(client, "500.00", "R1")
        assert evaluate(client, "2026-04-30")["evaluated"] == 0
        assert only_promise(client)["status"] == "kept"


@pytest.mark.usefixtures("chat")
class TestDailyEvaluation:
    def test_breaks_a_promise_with_nothing_paid_by_the_date_plus_grace(
        self, client: TestClient
    ) -> None:
        promise(client, "500.00", "2026-04-10")
        assert evaluate(client, "2026-04-13")["still_open"] == 1
        run = evaluate(client, "2026-04-14")
        assert (run["as_of"], run["evaluated"], run["broken"]) == ("2026-04-14", 1, 1)
        broken = only_promise(client)
        assert (broken["status"], broken["resolved_on"]) == ("broken", "2026-04-14")

    def test_a_late_payment_does_not_mend_a_broken_promise(self, client: TestClient) -> None:
        promise(client, "500.00", "2026-04-02")
        evaluate(client, "2026-04-06")
        pay(client, "500.00", "R1")
        assert only_promise(client)["status"] == "broken"

    def test_a_promise_past_its_pay_by_date_does_not_block_a_new_one(
        self, client: TestClient, settings: Settings
    ) -> None:
        promise(client, "500.00", "2026-04-02")
        settings.business_date = date(2026, 4, 9)  # no daily run in between
        assert promise(client, "600.00", "2026-04-12").status_code == 201
        statuses = [p["status"] for p in client.get(f"{MINE}/promises").json()]
        assert statuses == ["open", "broken"]


@pytest.mark.usefixtures("chat")
class TestBrokenPromisesEscalate:
    def break_one(self, client: TestClient, settings: Settings, made: date, on: str) -> Any:
        settings.business_date = made
        r = promise(client, "1000.00", on)
        assert r.status_code == 201, r.text
        day_after_grace = date.fromisoformat(on) + timedelta(days=4)
        return evaluate(client, day_after_grace.isoformat())

    def test_two_broken_in_a_row_flag_the_loan_for_a_person(
        self, client: TestClient, settings: Settings
    ) -> None:
        first = self.break_one(client, settings, date(2026, 4, 1), "2026-04-05")
        assert first["escalated_loans"] == []
        second = self.break_one(client, settings, date(2026, 4, 10), "2026-04-12")
        assert second["escalated_loans"] == ["L1"]
        flags = client.get("/api/v1/loans/L1/promise-escalations").json()
        assert len(flags) == 1
        assert flags[0]["broken_in_a_row"] == 2 and flags[0]["cleared_at"] is None
        assert flags[0]["reason"] == "2 promises to pay broken in a row"
        queue = client.get("/api/v1/promise-escalations").json()
        assert [(f["loan_ref"], f["borrower_ref"]) for f in queue] == [("L1", "B-L1")]
        # the assistant sees it and hands the chat to a person instead of taking a third
        assert client.get(f"{MINE}/promise-policy").json()["needs_person"] is True

    def test_a_kept_promise_between_breaks_is_no_run(
        self, client: TestClient, settings: Settings
    ) -> None:
        self.break_one(client, settings, date(2026, 4, 1), "2026-04-05")
        settings.business_date = date(2026, 4, 10)
        promise(client, "500.00", "2026-04-12")
        pay(client, "500.00", "R1")
        third = self.break_one(client, settings, date(2026, 4, 11), "2026-04-20")
        assert third["escalated_loans"] == []
        assert client.get("/api/v1/promise-escalations").json() == []

    def test_a_person_clears_the_flag_once(
        self, client: TestClient, settings: Settings, db: Session
    ) -> None:
        self.break_one(client, settings, date(2026, 4, 1), "2026-04-05")
        self.break_one(client, settings, date(2026, 4, 10), "2026-04-12")
        flag = client.get("/api/v1/promise-escalations").json()[0]
        r = client.post(
            f"/api/v1/promise-escalations/{flag['id']}/clear", json={"cleared_by": "user:alice"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["cleared_by"] == "user:alice" and r.json()["cleared_at"]
        assert client.get("/api/v1/promise-escalations").json() == []
        assert len(client.get("/api/v1/promise-escalations?open_only=false").json()) == 1
        again = client.post(
            f"/api/v1/promise-escalations/{flag['id']}/clear", json={"cleared_by": "user:bob"}
        )
        assert (again.status_code, again.json()["code"]) == (409, "escalation_already_cleared")
        assert audited(db, f"promise escalation {flag['id']} cleared") == ["update"]

    def test_a_new_run_after_clearing_flags_again(
        self, client: TestClient, settings: Settings
    ) -> None:
        self.break_one(client, settings, date(2026, 4, 1), "2026-04-05")
        self.break_one(client, settings, date(2026, 4, 10), "2026-04-12")
        flag = client.get("/api/v1/promise-escalations").json()[0]
        client.post(f"/api/v1/promise-escalations/{flag['id']}/clear", json={"cleared_by": "a"})
        assert (
            self.break_one(client, settings, date(2026, 4, 17), "2026-04-20")["escalated_loans"]
            == []
        )  # one broken since the flag
        fourth = self.break_one(client, settings, date(2026, 4, 25), "2026-04-26")
        assert fourth["escalated_loans"] == ["L1"]


class TestOnlyTheBoundBorrower:
    def test_an_unverified_conversation_must_verify_first(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        factories.conversation(db)  # telegram 42, not bound
        db.commit()
        for r in (
            client.get(f"{MINE}/promises"),
            client.get(f"{MINE}/promise-policy"),
            promise(client),
        ):
            assert (r.status_code, r.json()["code"]) == (403, "verification_required")
        assert db.scalars(select(Promise)).all() == []

    def test_another_borrowers_loan_is_not_found_and_says_nothing(
        self, client: TestClient, db: Session, loan: Loan
    ) -> None:
        factories.loan(db, ref="L2")  # someone else's
        factories.conversation(db, who=loan.borrower)
        db.commit()
        theirs = "/api/v1/conversations/telegram/42/loans/L2"
        for r in (
            client.get(f"{theirs}/promises"),
            client.get(f"{theirs}/promise-policy"),
            client.post(
                f"{theirs}/promises", json={"amount": "500.00", "promised_date": "2026-04-10"}
            ),
        ):
            assert r.status_code == 404
            assert r.json() == {"detail": "no loan 'L2' for this borrower", "code": "not_found"}
        assert db.scalars(select(Promise)).all() == []

    def test_openapi_documents_the_promise_routes(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        for path in (
            "/api/v1/conversations/{channel}/{user_id}/loans/{loan_ref}/promises",
            "/api/v1/conversations/{channel}/{user_id}/loans/{loan_ref}/promise-policy",
            "/api/v1/loans/{ref}/promises",
            "/api/v1/promises/evaluate",
            "/api/v1/promise-escalations",
            "/api/v1/loans/{ref}/promise-escalations",
        ):
            assert path in paths


class TestPaymentListeners:
    def post(self, db: Session, loan: Loan, reference: str) -> bool:
        result = ledger.post_payment(
            db,
            loan=loan,
            amount=10_000,
            reference=reference,
            provider="manual",
            received_on=TODAY,
            today=TODAY,
        )
        return result.duplicate

    def test_told_of_a_new_payment_never_of_a_duplicate(
        self, db: Session, loan: Loan, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[tuple[str, date]] = []
        monkeypatch.setitem(
            events.payment_listeners, "test", lambda _s, p, today: seen.append((p.reference, today))
        )
        assert self.post(db, loan, "R1") is False
        assert self.post(db, loan, "R1") is True
        assert seen == [("R1", TODAY)]

    def test_a_failing_listener_does_not_lose_the_payment(
        self, db: Session, loan: Loan, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(_s: Session, _p: Payment, _d: date) -> None:
            raise RuntimeError("boom")

        monkeypatch.setitem(events.payment_listeners, "test", broken)
        self.post(db, loan, "R1")
        db.commit()
        assert [p.reference for p in db.scalars(select(Payment))] == ["R1"]
