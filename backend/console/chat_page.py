"""What every chat route shares: who may see which chat, the page itself, and running one
action with its audit entry (all or nothing). A collector opens only the chats they have or
had; anything else is 404, as if it did not exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.audit.service import audit
from backend.cases import collector_actions as act
from backend.cases import handoffs
from backend.cases.models import Handoff
from backend.config import Settings
from backend.console.auth import FormViewerDep, NotAllowed, PageNotFound, Viewer, ViewerDep
from backend.console.loan_panel import borrower_panel
from backend.console.offer_view import offers_view
from backend.console.rendering import render
from backend.console.transcript_view import transcript_rows
from backend.conversations.models import Conversation
from backend.deps import SessionDep, SettingsDep
from backend.errors import DomainError, Invalid
from backend.ledger import service as ledger
from backend.money import InvalidAmount, to_minor
from backend.outbound import service as outbound
from backend.staff import rules as staff_rules
from backend.staff import service as staff


@dataclass(frozen=True, slots=True)
class Chat:
    """One request to a chat page or form, by a user whose role works chats."""

    request: Request
    viewer: Viewer
    session: Session
    settings: Settings

    def handoff(self, handoff_id: int) -> Handoff:
        """The handoff if this viewer may see it: a supervisor any, a collector the ones they
        have or had (a waiting chat is taken from the inbox first)."""
        handoff = self.session.get(Handoff, handoff_id)
        if handoff is None:
            raise PageNotFound()
        if self.viewer.can("all_chats") or handoff.taken_by == self.viewer.username:
            return handoff
        raise PageNotFound()

    def audit(self, handoff: Handoff, action: str, subject: str) -> None:
        audit(
            self.session,
            self.viewer.actor,
            action,
            borrower_id=handoff.conversation.borrower_id,
            subject=subject[:200],
        )

    def page(
        self,
        handoff: Handoff,
        *,
        done: str | None = None,
        error_text: str = "",
        status_code: int = 200,
    ) -> HTMLResponse:
        session, state, today = self.session, self.request.app.state, self.settings.today()
        conversation = handoff.conversation
        panel, offers = None, {}
        if conversation.borrower_id is not None:
            panel = borrower_panel(session, borrower_id=conversation.borrower_id, as_of=today)
            for loan in panel.loans:
                if not loan.paid_off:
                    found = ledger.get_loan(session, loan.ref)
                    offers[loan.ref] = offers_view(session, found, today, state.plan_policy)
        colleagues = [
            u
            for u in staff.users(session, active_only=True)
            if staff_rules.can(u.role, "chats") and u.username != handoff.taken_by
        ]
        return render(
            self.request,
            "chat.html",
            language=self.viewer.language,
            status_code=status_code,
            viewer=self.viewer,
            nav="inbox",
            handoff=handoff,
            conversation=conversation,
            transcript=transcript_rows(session, conversation_id=conversation.id),
            panel=panel,
            offers=offers,
            holder=handoff.status == "taken" and handoff.taken_by == self.viewer.username,
            colleagues=colleagues,
            today=today,
            max_promise_date=today + timedelta(days=state.promise_policy.max_days_ahead),
            done=done,
            error_text=error_text,
            whatsapp_template=_whatsapp_template(session, conversation, state),
        )

    def act(self, handoff_id: int, what: str, do: Callable[[Handoff], str]) -> Response:
        """Run one action for the borrower: its writes and its audit entry land together, or
        nothing does and the page says why. `do` returns the key of the done message."""
        handoff = self.handoff(handoff_id)
        try:
            with self.session.begin_nested():
                done = do(handoff)
                self.audit(handoff, "update", f"handoff {handoff.id}: {what}")
        except DomainError as exc:
            self.session.expire_all()
            return self.page(handoff, error_text=exc.message, status_code=exc.status_code)
        return RedirectResponse(f"/console/handoffs/{handoff_id}?done={done}", status_code=303)

    def amount(self, text: str, handoff: Handoff, loan_ref: str) -> int | None:
        """A typed amount in the loan's currency (blank: None)."""
        if not text.strip():
            return None
        currency = act.bound_loan(self.session, handoff=handoff, loan_ref=loan_ref).currency
        try:
            return to_minor(text, currency)
        except InvalidAmount as exc:
            raise Invalid(str(exc), code="bad_amount") from exc


def _works_chats(viewer: Viewer) -> Viewer:
    if not viewer.can("chats"):
        raise NotAllowed("chats")
    return viewer


def chat_view(
    request: Request, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> Chat:
    return Chat(request, _works_chats(viewer), session, settings)


def chat_form(
    request: Request, viewer: FormViewerDep, session: SessionDep, settings: SettingsDep
) -> Chat:
    """A chat form: the session's CSRF token checked first."""
    return Chat(request, _works_chats(viewer), session, settings)


ChatView = Annotated[Chat, Depends(chat_view)]
ChatForm = Annotated[Chat, Depends(chat_form)]


def _whatsapp_template(session: Session, conversation: Conversation, state: Any) -> str | None:
    """The body of the template a collector may send, when WhatsApp's window has closed."""
    if not handoffs.window_closed(session, conversation):
        return None
    whatsapp = state.outreach.whatsapp
    language = outbound.language_for(conversation)
    return str(whatsapp.fill(whatsapp.collector, language, {}).text)
