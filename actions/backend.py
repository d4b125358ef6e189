"""The one client the action server has for the backend's /api/v1: async, typed, and keyed by
the conversation (channel, user_id), never by a borrower id; the backend answers only for the
borrower bound to that chat.

It raises instead of returning error dicts: `BackendUnavailable` (down, slow, 5xx, nonsense),
`VerificationRequired` (the chat is not verified yet), `Refused` (any other 4xx, with the
backend's `code`). Calls are retried only where repeating them cannot record anything twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import weakref
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from actions import request_ids
from actions.backend_types import (
    Acceptance,
    Allocation,
    Approval,
    Arrangement,
    Balance,
    Case,
    ContactPreferenceSet,
    ConversationState,
    Handoff,
    Installment,
    Loan,
    NotOffered,
    Offer,
    Offers,
    Payment,
    PaymentLink,
    PlanRow,
    Promise,
    PromisePolicy,
    Schedule,
    Verification,
    parse,
)

__all__ = [
    "Acceptance",
    "Allocation",
    "Approval",
    "Arrangement",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Balance",
    "Case",
    "ContactPreferenceSet",
    "ConversationState",
    "Handoff",
    "Installment",
    "Loan",
    "NotOffered",
    "Offer",
    "Offers",
    "Payment",
    "PaymentLink",
    "PlanRow",
    "Promise",
    "PromisePolicy",
    "Refused",
    "Schedule",
    "Verification",
    "VerificationRequired",
    "conversation_of",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNELS = ("telegram", "webchat", "whatsapp")
_STATUS_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}


def conversation_of(sender_id: str) -> tuple[str, str]:
    """The (channel, user_id) of a Rasa sender id such as "telegram:12345" or "webchat:abc".
    A sender without a known channel prefix is a web chat user with that whole id."""
    channel, sep, user_id = sender_id.partition(":")
    if sep and channel in CHANNELS and user_id:
        return channel, user_id
    return "webchat", sender_id


class BackendError(Exception):
    """Anything the backend client raises."""


class BackendUnavailable(BackendError):
    """The backend could not be reached, timed out, failed (5xx) or answered nonsense."""


class Refused(BackendError):
    """The backend said no (a 4xx): `code` is its machine-readable reason and `params` the
    figures it names; `message` is English for logs, never for a borrower."""

    def __init__(
        self, status: int, code: str, message: str, params: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.params = params or {}


class VerificationRequired(Refused):
    """The chat has not proven it is the borrower (403 verification_required)."""


class Backend:
    """A view of the backend for one action run: its calls carry that run's request id. The
    connections underneath are one pool per event loop (so per action-server process), shared
    by every run on it; `aclose` leaves the pool open. A client given its own `transport` (the
    tests) has a pool of its own, closed by `aclose`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
        request_id: str | None = None,
        once_key: str | None = None,
    ) -> None:
        """`request_id`: the borrower message's (actions/request_ids.py), sent with every call
        so the backend logs it. `once_key`: this action run's (request_ids.once_key); each write
        that records something sends it with the write's place in the run, so the backend does
        it once however often the turn runs, and the write may then be tried again safely."""
        base = base_url or os.environ.get("BACKEND_URL", "http://127.0.0.1:8000")
        token = token or os.environ.get("SERVICE_TOKEN", "dev-service-token")
        self._headers = {request_ids.HEADER: request_id} if request_id else {}
        pooled = _pool(base, token, timeout) if transport is None else None
        self._own = pooled is None
        self._http = pooled or _client(base, token, timeout, transport)
        self._attempts = attempts
        self._backoff = backoff
        self._once_key = once_key
        self._writes = 0

    async def __aenter__(self) -> Backend:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    # -- conversation and verification ------------------------------------------------------

    async def upsert_conversation(
        self, channel: str, user_id: str, *, language: str | None = None
    ) -> ConversationState:
        """Create the conversation on first contact (and set its language): idempotent."""
        body = {"language": language} if language else {}
        data = await self._call("PUT", _chat(channel, user_id), json=body, retry=True)
        return _parse(ConversationState, data)

    async def get_conversation(self, channel: str, user_id: str) -> ConversationState:
        """Verified or not, bot or human, language, lock, open handoff (404 if never seen)."""
        return _parse(ConversationState, await self._get(_chat(channel, user_id)))

    # Verification is tried again only with a key: a repeated failed attempt would count twice.
    async def verify_link_token(self, channel: str, user_id: str, token: str) -> Verification:
        path = _chat(channel, user_id, "verify/link-token")
        return _parse(Verification, await self._write(path, {"token": token}))

    async def verify_phone(
        self, channel: str, user_id: str, phone: str, second_factor: str
    ) -> Verification:
        path = _chat(channel, user_id, "verify/phone")
        body = {"phone": phone, "second_factor": second_factor}
        return _parse(Verification, await self._write(path, body))

    async def report_wrong_person(
        self, channel: str, user_id: str, *, note: str = ""
    ) -> ConversationState:
        """Someone says they are not the borrower: recorded, the chat unbound."""
        path = _chat(channel, user_id, "wrong-person")
        return _parse(ConversationState, await self._write(path, {"note": note[:2000]}))

    # -- the bound borrower's loans ---------------------------------------------------------

    async def loans(
        self, channel: str, user_id: str, *, as_of: date | None = None
    ) -> list[Balance]:
        data = await self._get(_chat(channel, user_id, "loans"), as_of=as_of)
        return [_parse(Balance, item) for item in _list(data)]

    async def loan(
        self, channel: str, user_id: str, loan_ref: str, *, as_of: date | None = None
    ) -> Loan:
        return _parse(Loan, await self._get(_loan(channel, user_id, loan_ref), as_of=as_of))

    async def balance(
        self, channel: str, user_id: str, loan_ref: str, *, as_of: date | None = None
    ) -> Balance:
        path = _loan(channel, user_id, loan_ref, "balance")
        return _parse(Balance, await self._get(path, as_of=as_of))

    async def schedule(
        self, channel: str, user_id: str, loan_ref: str, *, as_of: date | None = None
    ) -> Schedule:
        path = _loan(channel, user_id, loan_ref, "schedule")
        return _parse(Schedule, await self._get(path, as_of=as_of))

    async def payments(
        self, channel: str, user_id: str, loan_ref: str, *, as_of: date | None = None
    ) -> list[Payment]:
        """Payments received, newest first."""
        data = await self._get(_loan(channel, user_id, loan_ref, "payments"), as_of=as_of)
        return [_parse(Payment, item) for item in _list(data)]

    async def payment_link(
        self, channel: str, user_id: str, loan_ref: str, amount: Decimal | None = None
    ) -> PaymentLink:
        """A checkout link for `amount`, or (left out) what is due now. Each call makes a new
        link, so it is tried again only with a key (the same link comes back)."""
        body = {} if amount is None else {"amount": _money(amount)}
        path = _loan(channel, user_id, loan_ref, "payment-links")
        return _parse(PaymentLink, await self._write(path, body))

    # -- promises to pay --------------------------------------------------------------------

    async def promise_policy(self, channel: str, user_id: str, loan_ref: str) -> PromisePolicy:
        return _parse(PromisePolicy, await self.promise_policy_json(channel, user_id, loan_ref))

    async def promise_policy_json(self, channel: str, user_id: str, loan_ref: str) -> Any:
        """The policy as the backend sent it: what a promise form keeps in its slot."""
        return await self._get(_loan(channel, user_id, loan_ref, "promise-policy"))

    async def promises(self, channel: str, user_id: str, loan_ref: str) -> list[Promise]:
        """The loan's promises, newest first."""
        data = await self._get(_loan(channel, user_id, loan_ref, "promises"))
        return [_parse(Promise, item) for item in _list(data)]

    async def create_promise(
        self, channel: str, user_id: str, loan_ref: str, amount: Decimal, promised_date: date
    ) -> Promise:
        """Record a promise to pay. Safe to call again: when an earlier call (or the lost answer
        to this one) already recorded the same amount and date, that open promise is returned
        rather than a second one made. Refusals: `promise_date_in_past`,
        `promise_beyond_window`, `promise_below_minimum`, `promise_above_balance`,
        `promise_nothing_owed`, `promise_already_open` (a different promise is open)."""
        path = _loan(channel, user_id, loan_ref, "promises")
        body = {"amount": _money(amount), "promised_date": promised_date.isoformat()}
        for attempt in range(1, self._attempts + 1):
            try:
                return _parse(Promise, await self._call("POST", path, json=body))
            except Refused as exc:
                if exc.code != "promise_already_open":
                    raise
                same = await self._open_promise(channel, user_id, loan_ref, amount, promised_date)
                if same is None:
                    raise
                return same
            except BackendUnavailable:
                # The request may have been recorded before the answer was lost: look first.
                same = await self._open_promise(channel, user_id, loan_ref, amount, promised_date)
                if same is not None:
                    return same
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def _open_promise(
        self, channel: str, user_id: str, loan_ref: str, amount: Decimal, promised_date: date
    ) -> Promise | None:
        for p in await self.promises(channel, user_id, loan_ref):
            if p.status == "open" and p.amount == amount and p.promised_date == promised_date:
                return p
        return None

    # -- repayment plans --------------------------------------------------------------------

    async def offers(
        self, channel: str, user_id: str, loan_ref: str, *, as_of: date | None = None
    ) -> Offers:
        """Today's offers (ids valid today only) and why the other kinds are not offered."""
        path = _loan(channel, user_id, loan_ref, "offers")
        return _parse(Offers, await self._get(path, as_of=as_of))

    async def accept_offer(
        self, channel: str, user_id: str, loan_ref: str, offer_id: str
    ) -> Acceptance:
        """`arranged`, or `pending_approval` for a supervisor. It records an agreement: tried
        again only with a key. A stale offer is refused `offer_no_longer_valid`."""
        path = _loan(channel, user_id, loan_ref, "arrangements")
        return _parse(Acceptance, await self._write(path, {"offer_id": offer_id}))

    async def arrangements(self, channel: str, user_id: str, loan_ref: str) -> list[Arrangement]:
        data = await self._get(_loan(channel, user_id, loan_ref, "arrangements"))
        return [_parse(Arrangement, item) for item in _list(data)]

    async def approvals(self, channel: str, user_id: str) -> list[Approval]:
        """The outcome of settlements this borrower asked a supervisor for, oldest first."""
        data = await self._get(_chat(channel, user_id, "approvals"))
        return [_parse(Approval, item) for item in _list(data)]

    # -- cases, handoffs, opt-in ------------------------------------------------------------

    async def set_contact_preference(
        self, channel: str, user_id: str, said: str
    ) -> ContactPreferenceSet:
        """The borrower's words about when to be contacted ("周末别发"), read and kept by the
        backend as a limit on reminders (it only narrows the compliance window)."""
        path = _chat(channel, user_id, "contact-preference")
        data = await self._call("PUT", path, json={"said": said[:500]}, retry=True)
        return _parse(ContactPreferenceSet, data)

    async def create_case(
        self,
        channel: str,
        user_id: str,
        kind: str,
        *,
        loan_ref: str | None = None,
        details: str = "",
        hold: bool = False,
    ) -> Case:
        """dispute, hardship (`hold` pauses contact), complaint, distress (also hands off),
        opt_out, contact_update, payment_trace. Tried again only with a key, or for an opt-out
        (the backend returns the one in force)."""
        body: dict[str, Any] = {"kind": kind, "details": details[:4000], "hold": hold}
        if loan_ref is not None:
            body["loan_ref"] = loan_ref
        data = await self._write(_chat(channel, user_id, "cases"), body, retry=kind == "opt_out")
        return _parse(Case, data)

    async def create_handoff(
        self, channel: str, user_id: str, reason: str, *, details: str = ""
    ) -> Handoff:
        """Hand the chat to a person. Idempotent (an open handoff comes back), so retried."""
        body = {"reason": reason, "details": details[:4000]}
        data = await self._call("POST", _chat(channel, user_id, "handoffs"), json=body, retry=True)
        return _parse(Handoff, data)

    async def opt_in(self, channel: str, user_id: str) -> int:
        """Proactive messages may resume; how many opt-outs were lifted."""
        data = await self._call("POST", _chat(channel, user_id, "opt-in"), json={}, retry=True)
        withdrawn = data.get("withdrawn") if isinstance(data, dict) else None
        if not isinstance(withdrawn, int):
            raise BackendUnavailable("unexpected opt-in answer from the backend")
        return withdrawn

    async def record_text_exposures(
        self, channel: str, user_id: str, *, version: int, said: list[tuple[str, str]]
    ) -> int:
        """Which wording of each text under experiment this turn said (tried again only with a
        key: a repeat would count a borrower twice)."""
        body = {"version": version, "said": [{"key": k, "variant": v} for k, v in said]}
        data = await self._write(_chat(channel, user_id, "text-exposures"), body)
        return int(data.get("recorded", 0)) if isinstance(data, dict) else 0

    # -- plumbing ---------------------------------------------------------------------------

    async def _write(self, path: str, body: Any, *, retry: bool = False) -> Any:
        """A POST that records something. With a key, its own (the same for every try of this
        call), and tried again: the backend answers a repeat from what the first try did."""
        if self._once_key is None:
            return await self._call("POST", path, json=body, retry=retry)
        self._writes += 1
        key = {request_ids.ONCE_HEADER: f"{self._once_key}/{self._writes}"}
        return await self._call("POST", path, json=body, retry=True, headers=key)

    async def _get(self, path: str, **params: Any) -> Any:
        query = {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()}
        query = {k: v for k, v in query.items() if v is not None}
        return await self._call("GET", path, params=query, retry=True)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        retry: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        headers = {**self._headers, **headers} if headers else self._headers
        if not retry:
            return await self._once(method, path, json=json, params=params, headers=headers)
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=2.0),
            retry=retry_if_exception_type(BackendUnavailable),
            reraise=True,
        ):
            with attempt:
                return await self._once(method, path, json=json, params=params, headers=headers)
        raise AssertionError("unreachable")

    async def _once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> Any:
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=headers
            )
        except httpx.TransportError as exc:  # connection refused, reset, timeout
            # The path carries the chat id: log the kind of failure only.
            log.warning("backend %s failed: %s", method, type(exc).__name__)
            raise BackendUnavailable(f"backend unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            log.warning("backend %s answered %s", method, response.status_code)
            raise BackendUnavailable(f"backend error {response.status_code}")
        if response.status_code >= 400:
            raise _refusal(response)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendUnavailable("backend answered something that is not JSON") from exc


# An idle connection is given up before the backend's keep-alive closes it (75 s as the project
# starts it; uvicorn's default, and httpx's own, 5 s): a call sent as the backend closed its
# connection failed (ReadError), and a call that is not retried would have failed the action.
KEEPALIVE_SECONDS = 4.0


def _client(
    base: str, token: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base.rstrip("/") + "/api/v1",
        headers={"Authorization": f"Bearer {token}", "X-Service-Name": "actions"},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
        limits=httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_SECONDS
        ),
        transport=transport,
        verify=_tls(),
    )


# A pool belongs to the event loop it was made on: one per loop and backend.
_pools: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str, float], httpx.AsyncClient]
] = weakref.WeakKeyDictionary()


def _pool(base: str, token: str, timeout: float) -> httpx.AsyncClient | None:
    """The running loop's pooled client for this backend; None outside a loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    pools = _pools.setdefault(loop, {})
    key = (base, token, timeout)
    client = pools.get(key)
    if client is None or client.is_closed:
        client = pools[key] = _client(base, token, timeout)
    return client


@cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once per process, not once per action.
    return httpx.create_ssl_context()


def _refusal(response: httpx.Response) -> Refused:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str):
        code = "invalid_request" if status == 422 else _STATUS_CODES.get(status, f"http_{status}")
    message = detail if isinstance(detail, str) else str(detail or response.reason_phrase)
    params = body.get("params") if isinstance(body, dict) else None
    if status == 403 and code == "verification_required":
        return VerificationRequired(status, code, message)
    return Refused(status, code, message, params if isinstance(params, dict) else None)


def _parse(cls: type[T], data: Any) -> T:
    try:
        return parse(cls, data)
    except ValueError as exc:
        raise BackendUnavailable(str(exc)) from exc


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise BackendUnavailable("expected a list from the backend")
    return data


def _chat(channel: str, user_id: str, *rest: str) -> str:
    return "/".join(["/conversations", quote(channel, safe=""), quote(user_id, safe=""), *rest])


def _loan(channel: str, user_id: str, loan_ref: str, *rest: str) -> str:
    return _chat(channel, user_id, "loans", quote(loan_ref, safe=""), *rest)


def _money(amount: Decimal) -> str:
    return format(amount, "f")  # never "5E+3"
