"""Conversation state and right-party verification (service API, called by the gateway and
the action server). Verification outcomes are answers, not errors: a failed attempt must be
counted, so it is committed like any other change."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from backend.api_errors import error_responses
from backend.audit.service import audit
from backend.cases.handoffs import open_handoff
from backend.cases.schemas import HandoffPublic
from backend.cases.service import file_case
from backend.conversations import service
from backend.conversations.inbound import Received, borrower_message, receive, received_at_once
from backend.conversations.models import Conversation
from backend.conversations.paths import ChannelPath, ChatPath
from backend.deps import ActorDep, OnceDep, SessionDep, SettingsDep
from backend.errors import NotFound
from backend.iso_dates import IsoDatetime
from backend.monitoring import metrics as monitoring
from backend.outreach.rules import is_opt_out
from backend.session_turns import in_autocommit, in_session
from backend.text_fields import CleanText, StoredText
from backend.texts.experiments import arm_key
from backend.types import utcnow
from backend.verification import lockout
from backend.verification import service as verification
from backend.verification.rules import AttemptPolicy, Limit, SharedLimits, is_locked

router = APIRouter(
    prefix="/conversations/{channel}/{user_id}",
    tags=["conversations"],
    responses=error_responses(404),
)
UserPath = Annotated[StoredText, Path(max_length=128, description="the chat's id on that channel")]


class ConversationState(BaseModel):
    channel: str
    user_id: str
    verified: bool = Field(description="bound to a borrower by verification")
    mode: str = Field(description="bot or human")
    language: str | None
    locked_until: datetime | None = Field(description="verification is locked until then")
    current_handoff: HandoffPublic | None = Field(
        default=None, description="the open handoff (waiting or taken), on GET"
    )

    @classmethod
    def of(cls, c: Conversation) -> ConversationState:
        locked = c.locked_until if is_locked(c.locked_until, utcnow()) else None
        return cls(
            channel=c.channel,
            user_id=c.channel_user_id,
            verified=c.borrower_id is not None,
            mode=c.mode,
            language=c.language,
            locked_until=locked,
        )


class ConversationUpsert(BaseModel):
    language: str | None = Field(default=None, pattern="^(zh|en)$")


class InboundMessage(BaseModel):
    text: CleanText = Field(
        min_length=1, max_length=10_000, description="a NUL or lone surrogate is dropped"
    )
    external_id: StoredText | None = Field(
        default=None,
        max_length=100,
        description="the channel's message or update id: the same one twice is a duplicate",
    )
    sent_at: IsoDatetime | None = Field(default=None, description="now when left out")
    kind: Literal["text", "button", "contact", "command"] = Field(
        default="text", description="how the borrower sent it (not stored)"
    )


class InboundResult(BaseModel):
    message_id: int = Field(description="its transcript id (to annotate with the NLU reading)")
    duplicate: bool = Field(description="already logged: the gateway must not answer it again")
    mode: str = Field(description="bot or human: who answers")
    language: str | None = Field(description="the borrower's, else the chat's; None: unknown")
    verified: bool
    opted_out: bool = Field(
        default=False, description="the message was an opt-out word: proactive messages stop"
    )
    arm_key: str | None = Field(
        default=None,
        description="the borrower's stable, opaque key for texts under experiment (the gateway "
        "passes it to the assistant); None while the chat is not verified",
    )


class TokenAttempt(BaseModel):
    token: StoredText = Field(min_length=1, max_length=200)


class PhoneAttempt(BaseModel):
    phone: StoredText = Field(min_length=3, max_length=40, description="as the channel shared it")
    second_factor: StoredText = Field(
        min_length=4,
        max_length=40,
        description="last 4 characters of the ID number, or date of birth",
    )


class VerificationResult(BaseModel):
    status: str = Field(description="verified, failed or locked")
    attempts_left: int
    locked_until: datetime | None
    offer_human: bool = Field(description="true once locked: offer the borrower a person")
    language: str | None = Field(description="the borrower's language, once verified")
    first_name: str | None = Field(description="to greet a verified borrower; nothing else")


class WrongPersonReport(BaseModel):
    note: CleanText = Field(default="", max_length=2000)


def _policy(settings: SettingsDep) -> AttemptPolicy:
    return AttemptPolicy(
        settings.verify_max_attempts, timedelta(minutes=settings.verify_lock_minutes)
    )


def _shared_limits(settings: SettingsDep) -> SharedLimits:
    return SharedLimits(
        per_identity=Limit(
            settings.verify_borrower_max_failures,
            timedelta(hours=settings.verify_borrower_window_hours),
            timedelta(hours=settings.verify_borrower_lock_hours),
        ),
        everyone=Limit(
            settings.verify_global_max_failures,
            timedelta(minutes=settings.verify_global_window_minutes),
        ),
    )


def _result(outcome: verification.Outcome) -> VerificationResult:
    b = outcome.borrower
    return VerificationResult(
        status=outcome.status,
        attempts_left=outcome.attempts_left,
        locked_until=outcome.locked_until,
        offer_human=outcome.status == "locked",
        language=b.language if b else None,
        first_name=_first_name(b.full_name, b.language) if b else None,
    )


def _first_name(full_name: str, language: str) -> str:
    return full_name if language == "zh" else full_name.split(maxsplit=1)[0]


@router.put("", response_model=ConversationState)
def upsert_conversation(
    channel: ChannelPath, user_id: UserPath, body: ConversationUpsert, session: SessionDep
) -> ConversationState:
    """Create the conversation on first contact; set the language it was heard in."""
    conversation = service.get_or_create(session, channel, user_id)
    if body.language:
        conversation.language = body.language
    session.flush()
    return ConversationState.of(conversation)


@router.get("", response_model=ConversationState)
def get_conversation(
    channel: ChannelPath, user_id: UserPath, session: SessionDep
) -> ConversationState:
    conversation = service.find(session, channel, user_id)
    if conversation is None:
        raise NotFound("no such conversation")
    state = ConversationState.of(conversation)
    handoff = open_handoff(session, conversation.id)
    state.current_handoff = HandoffPublic.of(handoff) if handoff else None
    return state


@router.post("/inbound", response_model=InboundResult)
async def inbound(
    channel: ChannelPath, user_id: UserPath, body: InboundMessage, request: Request
) -> InboundResult:
    """The gateway's one call per borrower message: logs it (creating the chat on its first
    message; a channel message already logged is a duplicate, not a second row) and says how
    to route it. A message that is an opt-out word ("stop", "退订" in any form: compliance.yml)
    opts the chat out of proactive messages at once, whatever the bot makes of it."""
    return await receive_inbound(request, ChatPath(channel=channel, user_id=user_id), body)


async def receive_inbound(request: Request, chat: ChatPath, body: InboundMessage) -> InboundResult:
    """The route's work, also run before routing when the call is well formed (hot_routes.py)."""
    opt_out = body.kind == "text" and is_opt_out(
        body.text, request.app.state.outreach.compliance.opt_out_words
    )
    tried = False
    if not opt_out:
        # Nearly every message: to a chat that exists, logged in one statement outside a
        # transaction on PostgreSQL (inbound.py). None: a first message, or another database.
        message = borrower_message(body.text, body.external_id, body.sent_at)

        def logged(connection: Connection) -> Received | None:
            nonlocal tried
            tried = True
            return received_at_once(connection, chat.channel, chat.user_id, message)

        at_once = await in_autocommit(request, logged)
        if at_once is not None:
            return inbound_result(request, at_once, opted_out=False)
    # One worker-thread turn for the whole call (session_turns.py), not a SessionDep's three:
    # it runs for every borrower message, and the hops cost more CPU than its two statements.
    # A first message (`tried`: no chat a moment ago) opens its chat without looking again.
    work = partial(log_received, chat.channel, chat.user_id, body, opt_out, tried)
    received, opted_out = await in_session(request, work)
    return inbound_result(request, received, opted_out=opted_out)


def log_received(
    channel: str,
    user_id: str,
    body: InboundMessage,
    opt_out: bool,
    no_chat_yet: bool,
    session: Session,
) -> tuple[Received, bool]:
    received = receive(
        session,
        channel=channel,
        user_id=user_id,
        text=body.text,
        external_id=body.external_id,
        sent_at=body.sent_at,
        no_chat_yet=no_chat_yet,
    )
    opted_out = opt_out and not received.duplicate
    if opted_out:
        conversation = session.get_one(Conversation, received.conversation_id)
        file_case(
            session, conversation=conversation, kind="opt_out", loan=None, details=body.text[:200]
        )
    return received, opted_out


def inbound_result(request: Request, received: Received, *, opted_out: bool) -> InboundResult:
    borrower_id = received.borrower_id
    return InboundResult(
        message_id=received.message_id,
        duplicate=received.duplicate,
        mode=received.mode,
        language=received.language,
        verified=borrower_id is not None,
        opted_out=opted_out,
        arm_key=(
            arm_key(request.app.state.settings.id_hash_key, borrower_id)
            if borrower_id is not None
            else None
        ),
    )


@router.post("/verify/link-token", response_model=VerificationResult)
def verify_link_token(
    channel: ChannelPath,
    user_id: UserPath,
    body: TokenAttempt,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    once: OnceDep,
) -> VerificationResult | JSONResponse:
    if (earlier := once.earlier()) is not None:
        return earlier  # a try sent again is not a second try
    conversation = service.get_or_create(session, channel, user_id)
    outcome = verification.verify_with_token(
        session, conversation, body.token, now=utcnow(), policy=_policy(settings)
    )
    if outcome.borrower is not None and not outcome.again:
        audit(
            session, actor, "update", borrower_id=outcome.borrower.id, subject="bound by link token"
        )
    monitoring.count_verification("link_token", outcome.status)
    return once.kept(_result(outcome))


@router.post("/verify/phone", response_model=VerificationResult)
def verify_phone(
    channel: ChannelPath,
    user_id: UserPath,
    body: PhoneAttempt,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    request: Request,
    once: OnceDep,
) -> VerificationResult | JSONResponse:
    """The same answer whether or not the number is a borrower's; failures also count across
    chats and channels (lockout.py), and a lock they start is audited and told to the
    borrower's verified chats. Sent again with its key, a try is answered as it was, not
    counted twice."""
    if (earlier := once.earlier()) is not None:
        return earlier
    conversation = service.get_or_create(session, channel, user_id)
    now, limits = utcnow(), _shared_limits(settings)
    outcome = verification.verify_with_phone(
        session,
        conversation,
        phone=body.phone,
        second_factor=body.second_factor,
        now=now,
        policy=_policy(settings),
        limits=limits,
        secret=settings.id_hash_key,
        region=settings.phone_region,
    )
    if outcome.borrower is not None:
        audit(session, actor, "update", borrower_id=outcome.borrower.id, subject="bound by phone")
    if outcome.counted is not None:
        lockout.announce(
            session,
            outcome.counted,
            conversation=conversation,
            actor=actor,
            compliance=request.app.state.outreach.compliance,
            limits=limits,
            now=now,
        )
    monitoring.count_verification("phone", outcome.status)
    return once.kept(_result(outcome))


@router.post("/wrong-person", response_model=ConversationState)
def wrong_person(
    channel: ChannelPath,
    user_id: UserPath,
    body: WrongPersonReport,
    session: SessionDep,
    actor: ActorDep,
    once: OnceDep,
) -> ConversationState | JSONResponse:
    """Someone says they are not the borrower: record it, unbind, disclose nothing."""
    if (earlier := once.earlier()) is not None:
        return earlier
    conversation = service.get_or_create(session, channel, user_id)
    report = verification.report_wrong_person(session, conversation, note=body.note)
    if report.borrower_id is not None:
        audit(
            session,
            actor,
            "update",
            borrower_id=report.borrower_id,
            subject="wrong person reported",
        )
    return once.kept(ConversationState.of(conversation))
