"""A chat in the console: the page (transcript, borrower and loan panel, reply box), its live
message feed, and the chat's course: take, reply, transfer, close. What a collector does for
the borrower's loan from the chat is in `chat_action_routes`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.cases import collector_actions as act
from backend.cases import handoffs
from backend.cases.models import Handoff
from backend.console.chat_page import ChatForm, ChatView
from backend.console.rendering import render
from backend.console.transcript_view import transcript_rows
from backend.errors import DomainError
from backend.staff import service as staff

router = APIRouter(prefix="/console/handoffs", include_in_schema=False)


@router.get("/{handoff_id}", response_class=HTMLResponse)
def chat_page(handoff_id: int, chat: ChatView) -> HTMLResponse:
    handoff = chat.handoff(handoff_id)
    chat.audit(handoff, "read", f"chat of handoff {handoff.id}")
    return chat.page(handoff, done=chat.request.query_params.get("done"))


@router.get("/{handoff_id}/messages", response_class=HTMLResponse)
def new_messages(handoff_id: int, chat: ChatView, after: int | None = None) -> Response:
    """Messages after the last one the page shows, for its live refresh (204: none)."""
    handoff = chat.handoff(handoff_id)
    try:
        rows = transcript_rows(chat.session, conversation_id=handoff.conversation_id, after=after)
    except DomainError:
        return Response(status_code=409)  # the page's cursor is not in this chat: reload
    headers = {"X-Handoff-Status": handoff.status, "Cache-Control": "no-store"}
    if not rows:
        return Response(status_code=204, headers=headers)
    chat.audit(handoff, "read", f"chat of handoff {handoff.id}: new messages")
    response = render(
        chat.request, "_messages.html", language=chat.viewer.language, transcript=rows
    )
    response.headers.update(headers)
    return response


@router.post("/{handoff_id}/take")
def take(handoff_id: int, chat: ChatForm) -> Response:
    """Take a waiting chat from the inbox (a collector may take any waiting one)."""
    try:
        with chat.session.begin_nested():
            handoff = handoffs.take(
                chat.session,
                handoff=handoffs.get_handoff(chat.session, handoff_id),
                collector=chat.viewer.username,
                display_name=chat.viewer.display_name,
            )
            chat.audit(handoff, "update", f"handoff {handoff.id} taken")
    except DomainError as exc:
        return RedirectResponse(f"/console/inbox?taken_elsewhere={exc.code}", status_code=303)
    return RedirectResponse(f"/console/handoffs/{handoff_id}?done=taken", status_code=303)


@router.post("/{handoff_id}/reply")
def reply(handoff_id: int, chat: ChatForm, text: Annotated[str, Form(max_length=4000)]) -> Response:
    def do(handoff: Handoff) -> str:
        handoffs.reply(
            chat.session, handoff=handoff, collector=chat.viewer.username, text=text.strip()
        )
        return "reply"

    return chat.act(handoff_id, "reply", do)


@router.post("/{handoff_id}/whatsapp-template")
def whatsapp_template(handoff_id: int, chat: ChatForm) -> Response:
    """WhatsApp's 24 hours since the borrower wrote are over: the approved template asking
    them to write back, the only message that can reach them now."""

    def do(handoff: Handoff) -> str:
        handoffs.send_template(
            chat.session,
            handoff=handoff,
            collector=chat.viewer.username,
            whatsapp=chat.request.app.state.outreach.whatsapp,
        )
        return "template"

    return chat.act(handoff_id, "WhatsApp template", do)


@router.post("/{handoff_id}/transfer")
def transfer(handoff_id: int, chat: ChatForm, to: Annotated[str, Form(max_length=40)]) -> Response:
    """To a colleague; a supervisor may also take a chat over by transferring it to themselves."""

    def do(handoff: Handoff) -> str:
        act.transfer(
            chat.session,
            handoff=handoff,
            by=chat.viewer.username,
            to=staff.get_user(chat.session, to),
            by_supervisor=chat.viewer.can("all_chats"),
        )
        return "transfer"

    response = chat.act(handoff_id, f"transfer to {to}", do)
    gave_away = to != chat.viewer.username and not chat.viewer.can("all_chats")
    if response.status_code == 303 and gave_away:  # the chat is no longer theirs to open
        return RedirectResponse("/console/inbox?done=transfer", status_code=303)
    return response


@router.post("/{handoff_id}/close")
def close(
    handoff_id: int, chat: ChatForm, note: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    """Hand the chat back to the bot: the borrower is told and the gateway resumes Rasa."""

    def do(handoff: Handoff) -> str:
        act.holder_check(handoff, username=chat.viewer.username)
        handoffs.close(chat.session, handoff=handoff, note=note.strip())
        return "closed"

    return chat.act(handoff_id, "closed", do)
