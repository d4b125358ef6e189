"""A chat in the console: the transcript (live), the borrower and loan panel, the reply box and
what a collector does for the borrower from there. A collector opens only the chats they have
or had; anything else is 404, as if it did not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.cases import collector_actions as act
from backend.cases import handoffs
from backend.cases.models import Handoff
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, PageNotFound, Viewer, need
from backend.console.loan_panel import borrower_panel
from backend.console.rendering import render
from backend.console.transcript_view import transcript_rows
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError, Invalid
from backend.ledger import service as ledger
from backend.money import InvalidAmount, to_minor
from backend.plans import service as plans
from backend.staff import rules as staff_rules
from backend.staff import service as staff
from backend.types import utcnow

router = APIRouter(prefix="/console/handoffs", include_in_schema=False)

ChatViewer = Annotated[Viewer, need("chats")]
Text = Annotated[str, Form(max_length=4000)]
Ref = Annotated[str, Form(max_length=32)]


def handoff_for(session: Session, viewer: Viewer, handoff_id: int) -> Handoff:
    """The handoff if this viewer may see it: a supervisor any, a collector the ones they have
    or had (a waiting chat is taken from the inbox first)."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise PageNotFound()
    if viewer.can("all_chats") or handoff.taken_by == viewer.username:
        return handoff
    raise PageNotFound()


def _chat_page(
    request: Request,
    session: Session,
    settings: Settings,
    viewer: Viewer,
    handoff: Handoff,
    *,
    done: str | None = None,
    error_text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    today = settings.today()
    conversation = handoff.conversation
    panel = None
    offers = {}
    if conversation.borrower_id is not None:
        panel = borrower_panel(session, borrower_id=conversation.borrower_id, as_of=today)
        for loan in panel.loans:
            if not loan.paid_off:
                offers[loan.ref] = plans.offers_for(
                    session,
                    ledger.get_loan(session, loan.ref),
                    today,
                    request.app.state.plan_policy,
                )
    holder = handoff.status == "taken" and handoff.taken_by == viewer.username
    colleagues = [
        u
        for u in staff.users(session, active_only=True)
        if staff_rules.can(u.role, "chats") and u.username != handoff.taken_by
    ]
    return render(
        request,
        "chat.html",
        language=viewer.language,
        status_code=status_code,
        viewer=viewer,
        nav="inbox",
        handoff=handoff,
        conversation=conversation,
        transcript=transcript_rows(session, conversation_id=conversation.id),
        panel=panel,
        offers=offers,
        holder=holder,
        colleagues=colleagues,
        today=today,
        max_promise_date=today + timedelta(days=request.app.state.promise_policy.max_days_ahead),
        done=done,
        error_text=error_text,
    )


@router.get("/{handoff_id}", response_class=HTMLResponse)
def chat_page(
    handoff_id: int,
    request: Request,
    viewer: ChatViewer,
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    handoff = handoff_for(session, viewer, handoff_id)
    audit(
        session,
        viewer.actor,
        "read",
        borrower_id=handoff.conversation.borrower_id,
        subject=f"chat of handoff {handoff.id}",
    )
    return _chat_page(
        request, session, settings, viewer, handoff, done=request.query_params.get("done")
    )


@router.get("/{handoff_id}/messages", response_class=HTMLResponse)
def new_messages(
    handoff_id: int,
    request: Request,
    viewer: ChatViewer,
    session: SessionDep,
    after: int | None = None,
) -> Response:
    """Messages after the last one the page shows, for its live refresh (204: none)."""
    handoff = handoff_for(session, viewer, handoff_id)
    try:
        rows = transcript_rows(session, conversation_id=handoff.conversation_id, after=after)
    except DomainError:
        return Response(status_code=409)  # the page's cursor is not in this chat: reload
    headers = {"X-Handoff-Status": handoff.status, "Cache-Control": "no-store"}
    if not rows:
        return Response(status_code=204, headers=headers)
    audit(
        session,
        viewer.actor,
        "read",
        borrower_id=handoff.conversation.borrower_id,
        subject=f"chat of handoff {handoff.id}: new messages",
    )
    response = render(request, "_messages.html", language=viewer.language, transcript=rows)
    response.headers.update(headers)
    return response


def _act(
    request: Request,
    session: Session,
    settings: Settings,
    viewer: Viewer,
    handoff_id: int,
    what: str,
    do: Callable[[Handoff], str],
) -> Response:
    """Run one action for the borrower; its writes and its audit entry land together, or
    nothing does and the page says why."""
    if not viewer.can("chats"):
        raise NotAllowed("chats")
    handoff = handoff_for(session, viewer, handoff_id)
    try:
        with session.begin_nested():
            done = do(handoff)
            audit(
                session,
                viewer.actor,
                "update",
                borrower_id=handoff.conversation.borrower_id,
                subject=f"handoff {handoff.id}: {what}"[:200],
            )
    except DomainError as exc:
        session.expire_all()
        return _chat_page(
            request,
            session,
            settings,
            viewer,
            handoff,
            error_text=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/console/handoffs/{handoff_id}?done={done}", status_code=303)


def _amount(text: str, session: Session, handoff: Handoff, loan_ref: str) -> int | None:
    if not text.strip():
        return None
    currency = act.bound_loan(session, handoff=handoff, loan_ref=loan_ref).currency
    try:
        return to_minor(text, currency)
    except InvalidAmount as exc:
        raise Invalid(str(exc), code="bad_amount") from exc


@router.post("/{handoff_id}/take")
def take(handoff_id: int, request: Request, viewer: FormViewerDep, session: SessionDep) -> Response:
    """Take a waiting chat from the inbox (a collector may take any waiting one)."""
    if not viewer.can("chats"):
        raise NotAllowed("chats")
    try:
        with session.begin_nested():
            handoff = handoffs.take(
                session,
                handoff=handoffs.get_handoff(session, handoff_id),
                collector=viewer.username,
                display_name=viewer.display_name,
            )
            audit(
                session,
                viewer.actor,
                "update",
                borrower_id=handoff.conversation.borrower_id,
                subject=f"handoff {handoff.id} taken",
            )
    except DomainError as exc:
        return RedirectResponse(f"/console/inbox?taken_elsewhere={exc.code}", status_code=303)
    return RedirectResponse(f"/console/handoffs/{handoff_id}?done=taken", status_code=303)


@router.post("/{handoff_id}/reply")
def reply(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    text: Text,
) -> Response:
    def do(handoff: Handoff) -> str:
        handoffs.reply(session, handoff=handoff, collector=viewer.username, text=text.strip())
        return "reply"

    return _act(request, session, settings, viewer, handoff_id, "reply", do)


@router.post("/{handoff_id}/payment-link")
def payment_link(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    loan_ref: Ref,
    amount: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    def do(handoff: Handoff) -> str:
        act.send_payment_link(
            session,
            handoff=handoff,
            username=viewer.username,
            loan_ref=loan_ref,
            amount=_amount(amount, session, handoff, loan_ref),
            as_of=settings.today(),
            provider=request.app.state.payment_providers[
                request.app.state.default_payment_provider
            ],
            ttl=timedelta(hours=settings.payment_link_ttl_hours),
            now=utcnow(),
        )
        return "link"

    return _act(request, session, settings, viewer, handoff_id, f"payment link {loan_ref}", do)


@router.post("/{handoff_id}/offers")
def present_offers(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    loan_ref: Ref,
) -> Response:
    def do(handoff: Handoff) -> str:
        presented = act.present_offers(
            session,
            handoff=handoff,
            username=viewer.username,
            loan_ref=loan_ref,
            as_of=settings.today(),
            policy=request.app.state.plan_policy,
        )
        if presented.message is None:
            raise Invalid("this loan has no plan offers today", code="no_offers")
        return "offers"

    return _act(request, session, settings, viewer, handoff_id, f"offers {loan_ref}", do)


@router.post("/{handoff_id}/offers/accept")
def accept_offer(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    loan_ref: Ref,
    offer_id: Annotated[str, Form(max_length=64)],
) -> Response:
    def do(handoff: Handoff) -> str:
        accepted = act.accept_offer(
            session,
            handoff=handoff,
            username=viewer.username,
            loan_ref=loan_ref,
            offer_id=offer_id,
            as_of=settings.today(),
            policy=request.app.state.plan_policy,
        )
        return "approval" if accepted.approval is not None else "arrangement"

    return _act(request, session, settings, viewer, handoff_id, f"plan {loan_ref}", do)


@router.post("/{handoff_id}/promise")
def record_promise(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    loan_ref: Ref,
    amount: Annotated[str, Form(max_length=32)],
    promised_date: Annotated[date, Form()],
) -> Response:
    def do(handoff: Handoff) -> str:
        minor = _amount(amount, session, handoff, loan_ref)
        if minor is None:
            raise Invalid("say how much the borrower promises to pay", code="bad_amount")
        act.record_promise(
            session,
            handoff=handoff,
            username=viewer.username,
            loan_ref=loan_ref,
            amount=minor,
            promised_date=promised_date,
            as_of=settings.today(),
            policy=request.app.state.promise_policy,
        )
        return "promise"

    return _act(request, session, settings, viewer, handoff_id, f"promise {loan_ref}", do)


@router.post("/{handoff_id}/case")
def open_case(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    kind: Annotated[str, Form(max_length=16)],
    details: Text,
    loan_ref: Annotated[str, Form(max_length=32)] = "",
    hold: Annotated[bool, Form()] = False,
) -> Response:
    def do(handoff: Handoff) -> str:
        act.open_case(
            session,
            handoff=handoff,
            username=viewer.username,
            kind=kind,
            loan_ref=loan_ref or None,
            details=details.strip(),
            hold=hold,
        )
        return "case"

    return _act(request, session, settings, viewer, handoff_id, f"case {kind}", do)


@router.post("/{handoff_id}/note")
def add_note(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    text: Text,
) -> Response:
    def do(handoff: Handoff) -> str:
        act.add_note(session, handoff=handoff, username=viewer.username, text=text)
        return "note"

    return _act(request, session, settings, viewer, handoff_id, "note", do)


@router.post("/{handoff_id}/transfer")
def transfer(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    to: Annotated[str, Form(max_length=40)],
) -> Response:
    def do(handoff: Handoff) -> str:
        act.transfer(
            session,
            handoff=handoff,
            by=viewer.username,
            to=staff.get_user(session, to),
            by_supervisor=viewer.can("all_chats"),
        )
        return "transfer"

    response = _act(request, session, settings, viewer, handoff_id, f"transfer to {to}", do)
    if response.status_code == 303 and to != viewer.username and not viewer.can("all_chats"):
        return RedirectResponse("/console/inbox?done=transfer", status_code=303)
    return response


@router.post("/{handoff_id}/close")
def close(
    handoff_id: int,
    request: Request,
    viewer: FormViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Hand the chat back to the bot: the borrower is told and the gateway resumes Rasa."""

    def do(handoff: Handoff) -> str:
        act.holder_check(handoff, username=viewer.username)
        handoffs.close(session, handoff=handoff, note=note.strip())
        return "closed"

    return _act(request, session, settings, viewer, handoff_id, "closed", do)
