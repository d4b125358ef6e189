"""Helpers for tests whose requests really commit (see the `committing_engine` fixture)."""

from __future__ import annotations

import contextlib

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.audit.models import AuditEntry
from backend.cases.models import Handoff
from backend.config import Settings
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.main import create_app
from backend.outbound.models import OutboundMessage


def committing_clients(engine: Engine, settings: Settings, count: int = 2) -> list[TestClient]:
    """Clients of one app whose every request runs in its own committed transaction on
    `engine`, as in production: one per thread (not entered as context managers).

    Make the first request to a route before the threads start: FastAPI finishes a route's
    parameter models on its first request, and two first requests at once upset pydantic."""
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker(engine, expire_on_commit=False)
    # As from two backend processes at once: no turn-taking inside one app (and each client
    # has an event loop of its own, which one asyncio.Semaphore cannot serve).
    app.state.session_slots = contextlib.nullcontext()
    headers = {"Authorization": f"Bearer {settings.service_token}"}
    return [TestClient(app, headers=headers) for _ in range(count)]


def remove_chats(engine: Engine, channel: str, user_ids: list[str]) -> None:
    """Delete what a committing test wrote for these chats (the PostgreSQL schema is shared by
    the tests of a worker)."""
    with Session(engine) as session:
        ids = list(
            session.scalars(
                select(Conversation.id).where(
                    Conversation.channel == channel, Conversation.channel_user_id.in_(user_ids)
                )
            )
        )
        session.execute(delete(OutboundMessage).where(OutboundMessage.conversation_id.in_(ids)))
        session.execute(delete(Handoff).where(Handoff.conversation_id.in_(ids)))
        session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
        session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        for user_id in user_ids:
            session.execute(delete(AuditEntry).where(AuditEntry.via.contains(f"/{user_id}/")))
        session.commit()
