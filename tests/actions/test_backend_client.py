"""The action server's backend client against the real backend (a process, demo data as of
2026-11-29). Each test uses its own chat, and the tests that change a loan each use their own
demo loan, so they do not depend on one another's order."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import httpx
import pytest
import pytest_asyncio

from actions.backend import (
    Backend,
    BackendUnavailable,
    Refused,
    VerificationRequired,
    conversation_of,
)
from actions.messages import why
from tests.actions.conftest import RunningBackend

pytestmark = pytest.mark.asyncio
ENGLISH = re.compile(r"[A-Za-z]{3,}")
_chats = count(1)


def new_chat() -> tuple[str, str]:
    return "telegram", f"test-{next(_chats)}"


@pytest_asyncio.fixture
async def client(backend: RunningBackend) -> AsyncIterator[Backend]:
    async with Backend(backend.url, backend.token) as c:
        yield c


async def verified_chat(client: Backend, backend: RunningBackend, ref: str) -> tuple[str, str]:
    channel, user_id = new_chat()
    result = await client.verify_link_token(channel, user_id, backend.link_token(ref))
    assert result.verified
    return channel, user_id


class LosingAnswers(httpx.AsyncBaseTransport):
    """Delivers requests to the backend but loses the answers to the first `lose` POSTs, as
    a timeout after the request was sent does."""

    def __init__(self, lose: int) -> None:
        self.lose = lose
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self.lose > 0:
            self.lose -= 1
            await response.aclose()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class TestConversationOf:
    async def test_reads_the_channel_prefix(self) -> None:
        assert conversation_of("telegram:12345") == ("telegram", "12345")
        assert conversation_of("webchat:abc") == ("webchat", "abc")

    async def test_an_unknown_prefix_is_a_web_chat_id(self) -> None:
        assert conversation_of("abc-123") == ("webchat", "abc-123")
        assert conversation_of("sms:555") == ("webchat", "sms:555")


class TestVerification:
    async def test_nothing_about_loans_before_verifying(self, client: Backend) -> None:
        channel, user_id = new_chat()
        state = await client.upsert_conversation(channel, user_id, language="zh")
        assert (state.verified, state.mode, state.language) == (False, "bot", "zh")
        with pytest.raises(VerificationRequired) as raised:
            await client.balance(channel, user_id, "L-DEMO-03")
        assert (raised.value.status, raised.value.code) == (403, "verification_required")
        with pytest.raises(VerificationRequired):
            await client.loans(channel, user_id)

    async def test_link_token_binds_the_chat(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = new_chat()
        result = await client.verify_link_token(channel, user_id, backend.link_token("DEMO-03"))
        assert (result.status, result.language, result.first_name) == ("verified", "zh", "李强")
        assert (await client.get_conversation(channel, user_id)).verified
        assert [loan.loan_ref for loan in await client.loans(channel, user_id)] == ["L-DEMO-03"]

    async def test_a_wrong_token_fails_and_counts(self, client: Backend) -> None:
        channel, user_id = new_chat()
        result = await client.verify_link_token(channel, user_id, "not-a-token")
        assert (result.status, result.attempts_left, result.offer_human) == ("failed", 2, False)

    async def test_phone_and_second_factor(self, client: Backend) -> None:
        channel, user_id = new_chat()
        wrong = await client.verify_phone(channel, user_id, "+6591234567", "9999")
        assert wrong.status == "failed"
        result = await client.verify_phone(channel, user_id, "+6591234567", "345D")
        assert (result.status, result.language, result.first_name) == ("verified", "en", "Emily")
        assert (await client.balance(channel, user_id, "L-DEMO-02")).currency == "SGD"

    async def test_wrong_person_unbinds(self, client: Backend, backend: RunningBackend) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-01")
        state = await client.report_wrong_person(channel, user_id, note="this is her brother")
        assert not state.verified
        with pytest.raises(VerificationRequired):
            await client.loans(channel, user_id)


class TestLoans:
    async def test_balance_matches_the_ledger(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-03")
        balance = await client.balance(channel, user_id, "L-DEMO-03")
        with backend.api() as api:
            raw = api.get("/loans/L-DEMO-03/balance").json()
        assert (balance.dpd, balance.bucket, balance.currency) == (12, "1-30", "CNY")
        assert balance.as_of == date(2026, 11, 29)
        assert balance.overdue_amount == Decimal(raw["overdue_amount"]) > 0
        assert balance.total_outstanding == Decimal(raw["total_outstanding"])
        parts = (
            balance.principal_outstanding
            + balance.interest_outstanding
            + balance.fees_outstanding
            + balance.penalty_outstanding
        )
        assert parts == balance.total_outstanding
        assert balance.payoff_amount == Decimal(raw["payoff_amount"])

    async def test_loan_terms_schedule_and_payments(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-04")
        loan = await client.loan(channel, user_id, "L-DEMO-04")
        assert (loan.product_code, loan.late_fee, loan.balance.dpd) == (
            "CASH-6-EP",
            Decimal("20.00"),
            45,
        )
        schedule = await client.schedule(channel, user_id, "L-DEMO-04")
        assert [i.seq for i in schedule.installments] == [1, 2, 3, 4, 5, 6]
        assert "overdue" in {i.status for i in schedule.installments}
        payments = await client.payments(channel, user_id, "L-DEMO-04")
        assert payments[0].received_on > payments[-1].received_on  # newest first
        assert sum(a.amount for a in payments[0].allocations) == payments[0].amount

    async def test_another_borrowers_loan_is_unknown(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-03")
        with pytest.raises(Refused) as raised:
            await client.balance(channel, user_id, "L-DEMO-01")
        assert (raised.value.status, raised.value.code) == (404, "not_found")

    async def test_payment_link_for_what_is_due(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-03")
        balance = await client.balance(channel, user_id, "L-DEMO-03")
        link = await client.payment_link(channel, user_id, "L-DEMO-03")
        assert link.url.startswith(f"{backend.url}/pay/")
        assert (link.amount, link.currency, link.status) == (balance.due_now, "CNY", "open")
        chosen = await client.payment_link(channel, user_id, "L-DEMO-03", Decimal("300"))
        assert chosen.amount == Decimal("300.00")
        with pytest.raises(Refused) as raised:
            await client.payment_link(channel, user_id, "L-DEMO-03", Decimal("999999"))
        assert raised.value.code == "amount_above_payoff"
        assert raised.value.params["payoff"] == f"{balance.payoff_amount:.2f}"


class TestPromises:
    async def test_a_repeated_promise_is_recorded_once(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-05")
        policy = await client.promise_policy(channel, user_id, "L-DEMO-05")
        assert policy.can_promise
        amount, day = policy.minimum_amount, policy.earliest_date + timedelta(days=2)
        first = await client.create_promise(channel, user_id, "L-DEMO-05", amount, day)
        assert (first.status, first.amount, first.promised_date) == ("open", amount, day)
        again = await client.create_promise(channel, user_id, "L-DEMO-05", amount, day)
        assert again.id == first.id
        assert [p.id for p in await client.promises(channel, user_id, "L-DEMO-05")] == [first.id]

    async def test_a_different_promise_while_one_is_open_is_refused(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-08")
        policy = await client.promise_policy(channel, user_id, "L-DEMO-08")
        day = policy.earliest_date + timedelta(days=1)
        await client.create_promise(channel, user_id, "L-DEMO-08", policy.minimum_amount, day)
        with pytest.raises(Refused) as raised:
            await client.create_promise(
                channel, user_id, "L-DEMO-08", policy.minimum_amount + 1, day
            )
        assert (raised.value.status, raised.value.code) == (409, "promise_already_open")

    async def test_a_lost_answer_does_not_record_twice(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-06")
        policy = await client.promise_policy(channel, user_id, "L-DEMO-06")
        amount, day = policy.minimum_amount, policy.latest_date
        async with Backend(backend.url, backend.token, transport=LosingAnswers(1)) as flaky:
            promise = await flaky.create_promise(channel, user_id, "L-DEMO-06", amount, day)
        assert (promise.amount, promise.promised_date, promise.status) == (amount, day, "open")
        assert [p.id for p in await client.promises(channel, user_id, "L-DEMO-06")] == [promise.id]

    async def test_outside_policy_is_refused_with_its_code(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-03")
        policy = await client.promise_policy(channel, user_id, "L-DEMO-03")
        late = policy.latest_date + timedelta(days=1)
        with pytest.raises(Refused) as raised:
            await client.create_promise(channel, user_id, "L-DEMO-03", policy.minimum_amount, late)
        assert (raised.value.status, raised.value.code) == (422, "promise_beyond_window")
        assert raised.value.params["latest"] == policy.latest_date.isoformat()
        assert await client.promises(channel, user_id, "L-DEMO-03") == []
        # What the borrower reads is worded from the code and its figures, in their language.
        said = why("zh", "promise_refused", raised.value.code, raised.value.params)
        assert policy.latest_date.isoformat() in said and not ENGLISH.search(said)


class TestPlans:
    async def test_offers_and_accepting_one(self, client: Backend, backend: RunningBackend) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-04")
        offers = await client.offers(channel, user_id, "L-DEMO-04")
        plans = [o for o in offers.offers if o.kind == "installment" and not o.needs_approval]
        assert plans, offers
        offer = plans[0]
        assert sum(row.amount for row in offer.installments) == offer.total
        accepted = await client.accept_offer(channel, user_id, "L-DEMO-04", offer.id)
        assert accepted.status == "arranged" and accepted.arrangement is not None
        assert accepted.arrangement.total == offer.total
        arrangements = await client.arrangements(channel, user_id, "L-DEMO-04")
        assert [a.id for a in arrangements] == [accepted.arrangement.id]
        assert await client.approvals(channel, user_id) == []

    async def test_why_not_comes_as_a_code_with_its_figures(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-01")  # current: no plans
        offers = await client.offers(channel, user_id, "L-DEMO-01")
        assert offers.offers == []
        why_not = {r.kind: r for r in offers.not_offered}
        extension = why_not["extension"]
        assert (extension.code, extension.params) == (
            "dpd_outside_window",
            {"dpd": 0, "min_dpd": 1, "max_dpd": 30},
        )
        said = why("zh", "why_not", extension.code, extension.params)
        assert "1" in said and "30" in said and not ENGLISH.search(said)

    async def test_a_stale_offer_is_refused(self, client: Backend, backend: RunningBackend) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-03")
        with pytest.raises(Refused) as raised:
            await client.accept_offer(channel, user_id, "L-DEMO-03", "no-such-offer")
        assert raised.value.code == "offer_no_longer_valid"


class TestCasesAndHandoffs:
    async def test_a_complaint_needs_no_verification_a_dispute_does(self, client: Backend) -> None:
        channel, user_id = new_chat()
        case = await client.create_case(channel, user_id, "complaint", details="rude caller")
        assert (case.kind, case.status, case.loan_ref) == ("complaint", "open", None)
        with pytest.raises(VerificationRequired):
            await client.create_case(channel, user_id, "dispute", loan_ref="L-DEMO-03")

    async def test_hardship_with_hold_on_own_loan(
        self, client: Backend, backend: RunningBackend
    ) -> None:
        channel, user_id = await verified_chat(client, backend, "DEMO-10")
        case = await client.create_case(
            channel, user_id, "hardship", loan_ref="L-DEMO-10", details="lost my job", hold=True
        )
        assert (case.kind, case.loan_ref, case.hold) == ("hardship", "L-DEMO-10", True)

    async def test_opt_out_then_opt_in(self, client: Backend) -> None:
        channel, user_id = new_chat()
        first = await client.create_case(channel, user_id, "opt_out")
        assert (await client.create_case(channel, user_id, "opt_out")).id == first.id
        assert await client.opt_in(channel, user_id) == 1

    async def test_handoff_asked_twice_is_one_handoff(self, client: Backend) -> None:
        channel, user_id = new_chat()
        first = await client.create_handoff(channel, user_id, "borrower_request")
        again = await client.create_handoff(channel, user_id, "complaint", details="angry")
        assert again.id == first.id and again.priority == "high"
        state = await client.get_conversation(channel, user_id)
        assert state.mode == "human"
        assert state.current_handoff is not None and state.current_handoff.id == first.id


class TestFailures:
    async def test_a_closed_port_is_unavailable_fast(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again when the block ends
        started = time.monotonic()
        async with Backend(f"http://127.0.0.1:{port}", "x", backoff=0.01) as down:
            with pytest.raises(BackendUnavailable):
                await down.loans("telegram", "1")
            with pytest.raises(BackendUnavailable):
                await down.verify_link_token("telegram", "1", "token")
        assert time.monotonic() - started < 2

    async def test_a_wrong_service_token_is_refused(self, backend: RunningBackend) -> None:
        async with Backend(backend.url, "wrong-token") as c:
            with pytest.raises(Refused) as raised:
                await c.upsert_conversation("telegram", "1")
        assert (raised.value.status, raised.value.code) == (401, "unauthorized")
