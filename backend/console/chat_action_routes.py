"""What a collector does for the borrower's loan from a chat they have: a payment link, plan
offers (sent, or accepted for the borrower), a promise to pay, a dispute or hardship record, a
note. Each tells the borrower in their language (`backend/cases/collector_actions.py`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from backend.cases import collector_actions as act
from backend.cases import collector_plans
from backend.cases.models import Handoff
from backend.console.chat_page import ChatForm
from backend.errors import Invalid
from backend.payments.providers import for_new_links
from backend.types import utcnow

router = APIRouter(prefix="/console/handoffs", include_in_schema=False)

LoanRef = Annotated[str, Form(max_length=32)]
TypedAmount = Annotated[str, Form(max_length=32)]


@router.post("/{handoff_id}/payment-link")
def payment_link(
    handoff_id: int, chat: ChatForm, loan_ref: LoanRef, amount: TypedAmount = ""
) -> Response:
    """A link for the amount typed, or for what is due when left blank."""
    state = chat.request.app.state

    def do(handoff: Handoff) -> str:
        act.send_payment_link(
            chat.session,
            handoff=handoff,
            username=chat.viewer.username,
            loan_ref=loan_ref,
            amount=chat.amount(amount, handoff, loan_ref),
            as_of=chat.settings.today(),
            provider=for_new_links(state.payment_providers, state.default_payment_provider),
            ttl=timedelta(hours=chat.settings.payment_link_ttl_hours),
            now=utcnow(),
        )
        return "link"

    return chat.act(handoff_id, f"payment link {loan_ref}", do)


@router.post("/{handoff_id}/offers")
def present_offers(handoff_id: int, chat: ChatForm, loan_ref: LoanRef) -> Response:
    def do(handoff: Handoff) -> str:
        presented = collector_plans.present_offers(
            chat.session,
            handoff=handoff,
            username=chat.viewer.username,
            loan_ref=loan_ref,
            as_of=chat.settings.today(),
            policy=chat.request.app.state.plan_policy,
        )
        if presented.message is None:
            raise Invalid("this loan has no plan offers today", code="no_offers")
        return "offers"

    return chat.act(handoff_id, f"offers {loan_ref}", do)


@router.post("/{handoff_id}/offers/accept")
def accept_offer(
    handoff_id: int,
    chat: ChatForm,
    loan_ref: LoanRef,
    offer_id: Annotated[str, Form(max_length=64)],
) -> Response:
    """An arrangement at once, or a settlement request for a supervisor."""

    def do(handoff: Handoff) -> str:
        accepted = collector_plans.accept_offer(
            chat.session,
            handoff=handoff,
            username=chat.viewer.username,
            loan_ref=loan_ref,
            offer_id=offer_id,
            as_of=chat.settings.today(),
            policy=chat.request.app.state.plan_policy,
        )
        return "approval" if accepted.approval is not None else "arrangement"

    return chat.act(handoff_id, f"plan {loan_ref}", do)


@router.post("/{handoff_id}/promise")
def record_promise(
    handoff_id: int,
    chat: ChatForm,
    loan_ref: LoanRef,
    amount: TypedAmount,
    promised_date: Annotated[date, Form()],
) -> Response:
    def do(handoff: Handoff) -> str:
        minor = chat.amount(amount, handoff, loan_ref)
        if minor is None:
            raise Invalid("say how much the borrower promises to pay", code="bad_amount")
        act.record_promise(
            chat.session,
            handoff=handoff,
            username=chat.viewer.username,
            loan_ref=loan_ref,
            amount=minor,
            promised_date=promised_date,
            as_of=chat.settings.today(),
            policy=chat.request.app.state.promise_policy,
        )
        return "promise"

    return chat.act(handoff_id, f"promise {loan_ref}", do)


@router.post("/{handoff_id}/case")
def open_case(
    handoff_id: int,
    chat: ChatForm,
    kind: Annotated[str, Form(max_length=16)],
    details: Annotated[str, Form(max_length=4000)],
    loan_ref: Annotated[str, Form(max_length=32)] = "",
    hold: Annotated[bool, Form()] = False,
) -> Response:
    """A dispute or a hardship record (a hold pauses reminders while it is open)."""

    def do(handoff: Handoff) -> str:
        act.open_case(
            chat.session,
            handoff=handoff,
            username=chat.viewer.username,
            kind=kind,
            loan_ref=loan_ref or None,
            details=details.strip(),
            hold=hold,
        )
        return "case"

    return chat.act(handoff_id, f"case {kind}", do)


@router.post("/{handoff_id}/note")
def add_note(
    handoff_id: int, chat: ChatForm, text: Annotated[str, Form(max_length=4000)]
) -> Response:
    def do(handoff: Handoff) -> str:
        act.add_note(chat.session, handoff=handoff, username=chat.viewer.username, text=text)
        return "note"

    return chat.act(handoff_id, "note", do)
