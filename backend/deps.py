"""FastAPI dependencies shared by routers, as Annotated aliases."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend import idempotency
from backend.audit.service import Actor
from backend.config import Settings
from backend.db import session_scope
from backend.iso_dates import IsoDate


# Dependencies that only read the request or the settings are `async def`: FastAPI runs a plain
# `def` dependency in a worker thread, and four thread hops per API call cost more CPU than
# the call's own database work. Anything that touches the session stays a plain `def` (tests/
# backend/unit/test_database_off_the_event_loop.py holds that line).
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def session_slot(request: Request) -> AsyncIterator[None]:
    """A turn to hold a session, waited for on the event loop (not in a worker thread); given
    back after the session has committed and returned its connection."""
    async with request.app.state.session_slots:
        yield


def get_session(
    request: Request, _: Annotated[None, Depends(session_slot, scope="function")]
) -> Iterator[Session]:
    yield from session_scope(request.app.state.sessionmaker)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# "function" scope: commit before the response is sent, so a caller that reads straight
# back sees its write, and a failed commit is an error response, not a silent loss.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Declared as a security scheme so the OpenAPI document shows which operations need the token;
# auto_error off: a missing token is our 401 (with its code), not FastAPI's 403.
service_bearer = HTTPBearer(
    scheme_name="serviceToken",
    description="`Authorization: Bearer <SERVICE_TOKEN>`",
    auto_error=False,
)


async def require_service_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(service_bearer)],
) -> None:
    """Other services call /api/v1 with `Authorization: Bearer <SERVICE_TOKEN>`."""
    token = credentials.credentials if credentials is not None else ""
    if not token or not hmac.compare_digest(token.encode(), settings.service_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong service token",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def business_date(
    settings: SettingsDep,
    as_of: Annotated[
        IsoDate | None, Query(description="Business date (YYYY-MM-DD); today when left out")
    ] = None,
) -> date:
    return as_of or settings.today()


AsOf = Annotated[date, Depends(business_date)]


async def current_actor(
    request: Request, x_service_name: Annotated[str | None, Header()] = None
) -> Actor:
    """The calling service (it names itself in X-Service-Name) and the route it used."""
    name = (x_service_name or "service").strip()[:40] or "service"
    return Actor(name=f"service:{name}", via=f"{request.method} {request.url.path}"[:200])


ActorDep = Annotated[Actor, Depends(current_actor)]


# A write the action server may send twice (idempotency.py): its key, in the request's session.
def once(
    request: Request,
    session: SessionDep,
    key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            max_length=200,
            pattern=r"^[A-Za-z0-9._:/-]+$",
            description=(
                "Sent again with the same key (within two days), the call does nothing new and "
                f"answers as it did the first time, with `{idempotency.REPLAYED}: true`."
            ),
        ),
    ] = None,
) -> idempotency.Once:
    return idempotency.Once(session, request.method, request.url.path, key)


OnceDep = Annotated[idempotency.Once, Depends(once)]
