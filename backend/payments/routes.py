"""Payment links (service API), the provider webhook, and the sandbox checkout pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.api_errors import error_responses
from backend.config import Settings
from backend.deps import AsOf, SessionDep, SettingsDep
from backend.errors import DomainError, Invalid, NotFound
from backend.ledger import service as ledger
from backend.ledger.models import Loan
from backend.money import AmountText, InvalidAmount, format_major, to_minor
from backend.payments import checkout_security, providers, service
from backend.payments.models import PaymentLink
from backend.payments.provider import PaymentEvent, PaymentProvider, SandboxProvider
from backend.types import utcnow

api = APIRouter(tags=["payments"], responses=error_responses(404))
webhooks = APIRouter(prefix="/api/v1/payments/webhooks", tags=["payments"])
checkout = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class PaymentLinkCreate(BaseModel):
    amount: AmountText | None = Field(
        default=None, description="Major units; what is due now when left out"
    )


class PaymentLinkPublic(BaseModel):
    url: str
    token: str
    loan_ref: str
    amount: str
    amount_minor: int = Field(description="The amount in minor units, as the webhook sends it")
    currency: str
    expires_at: datetime
    status: str = Field(description="open, paid or expired")

    @classmethod
    def of(cls, link: PaymentLink, provider: PaymentProvider, now: datetime) -> PaymentLinkPublic:
        return cls(
            url=provider.checkout_url(link.token),
            token=link.token,
            loan_ref=link.loan.ref,
            amount=format_major(link.amount_minor, link.currency),
            amount_minor=link.amount_minor,
            currency=link.currency,
            expires_at=link.expires_at,
            status=link.status(now),
        )


def provider_for(request: Request) -> PaymentProvider:
    """The provider new payment links are made with (409 `payment_links_unavailable`: none)."""
    state = request.app.state
    return providers.for_new_links(state.payment_providers, state.default_payment_provider)


def _provider(request: Request, name: str) -> PaymentProvider:
    providers: dict[str, PaymentProvider] = request.app.state.payment_providers
    if name not in providers:
        raise NotFound(f"no payment provider {name!r}")
    return providers[name]


@api.post(
    "/loans/{ref}/payment-links",
    response_model=PaymentLinkPublic,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
def create_payment_link(
    ref: str,
    body: PaymentLinkCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf,
) -> PaymentLinkPublic:
    return link_for(ledger.get_loan(session, ref), body, request, session, settings, as_of)


@api.get("/payment-links/{token}", response_model=PaymentLinkPublic)
def get_payment_link(token: str, request: Request, session: SessionDep) -> PaymentLinkPublic:
    """A link as its checkout page needs it: what to charge, until when, and whether it is
    still open. The lender's payment service (the hosted checkout) asks with the service token
    when a borrower opens its page. A link whose provider this backend no longer runs is
    unknown: nobody can pay it."""
    link = service.link_by_token(session, token)
    provider = request.app.state.payment_providers.get(link.provider)
    if provider is None:
        raise NotFound("no such payment link", code="unknown_link")
    return PaymentLinkPublic.of(link, provider, utcnow())


def link_for(
    loan: Loan,
    body: PaymentLinkCreate,
    request: Request,
    session: Session,
    settings: Settings,
    as_of: date,
) -> PaymentLinkPublic:
    """A payment link for the loan: the amount asked for, or what is due now."""
    provider = provider_for(request)  # first: no amount matters without a provider
    try:
        amount = None if body.amount is None else to_minor(body.amount, loan.currency)
    except InvalidAmount as exc:
        raise Invalid(str(exc), code="invalid_amount") from exc
    now = utcnow()
    link = service.create_link(
        session,
        loan=loan,
        provider=provider,
        amount=amount,
        as_of=as_of,
        now=now,
        ttl=timedelta(hours=settings.payment_link_ttl_hours),
    )
    return PaymentLinkPublic.of(link, provider, now)


async def raw_body(request: Request) -> bytes:
    """The body exactly as the provider signed it. Read on the event loop: the only async part
    of the webhook, and it never touches the database."""
    return await request.body()


def signed_event(
    provider_name: str,
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    x_signature: Annotated[str, Header()] = "",
) -> tuple[PaymentProvider, PaymentEvent]:
    """The provider and its verified event; a forged or malformed call is refused here, before
    the request takes a database session."""
    provider = _provider(request, provider_name)
    return provider, service.read_event(provider, body, x_signature)


SignedEvent = Annotated[tuple[PaymentProvider, PaymentEvent], Depends(signed_event)]


@webhooks.post("/{provider_name}")
def provider_webhook(
    signed: SignedEvent, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
    """Where a provider tells us money arrived. Signed; replays post nothing new.

    A plain `def` (run in a worker thread) like every route that uses the database: a twin
    delivery waiting on this one's row lock must not hold the event loop, or this one could
    never commit and every request would hang."""
    provider, event = signed
    _, result = service.post_event(session, provider=provider, event=event, today=settings.today())
    return {
        "status": "duplicate" if result.duplicate else "posted",
        "reference": result.payment.reference,
    }


def _checkout_page(
    request: Request,
    link: PaymentLink,
    *,
    error: str | None = None,
    stale: bool = False,
) -> HTMLResponse:
    st = ledger.loan_statement(request.state.session, link.loan, request.app.state.settings.today())
    lang = link.loan.borrower.language
    csrf, nonce = checkout_security.new_token(), checkout_security.new_token()
    page = templates.TemplateResponse(
        request,
        "checkout.html",
        {
            "lang": lang,
            "link": link,
            "status": link.status(utcnow()),
            "amount": format_major(link.amount_minor, link.currency),
            "balance_after": format_major(st.total_outstanding, link.currency),
            "error": error,
            "stale": stale,  # a post without this page's token: refused, the form shown again
            "csrf_token": csrf,
            "nonce": nonce,
        },
        status_code=403 if stale else 400 if error else 200,
    )
    return checkout_security.protect(page, request, csrf=csrf, nonce=nonce)


def _no_link() -> HTMLResponse:
    return HTMLResponse("<h1>Payment link not found / 付款链接不存在</h1>", status_code=404)


def _sandbox_link(
    request: Request, session: Session, token: str
) -> tuple[PaymentLink, SandboxProvider] | None:
    """The link and the running sandbox, if the link is the sandbox's: another provider's link
    (the hosted checkout's, or the sandbox's once it is off) is paid elsewhere, so this page
    does not exist for it."""
    try:
        link = service.link_by_token(session, token)
    except NotFound:
        return None
    provider = request.app.state.payment_providers.get(link.provider)
    return (link, provider) if isinstance(provider, SandboxProvider) else None


@checkout.get("/pay/{token}", response_class=HTMLResponse)
def checkout_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    request.state.session = session
    found = _sandbox_link(request, session, token)
    return _no_link() if found is None else _checkout_page(request, found[0])


@checkout.post("/pay/{token}", response_model=None)
def checkout_pay(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse | RedirectResponse:
    """The sandbox 'bank': sign an event and hand it to the webhook handler. Only from the
    page itself: its CSRF token and this site's origin (else 403, nothing posted)."""
    request.state.session = session
    found = _sandbox_link(request, session, token)
    if found is None:
        return _no_link()
    link, provider = found
    if not checkout_security.post_allowed(request, csrf_token):
        return _checkout_page(request, link, stale=True)
    if link.status(utcnow()) == "expired":
        return _checkout_page(request, link, error="expired")
    # One link, one reference: a double click posts once.
    event = PaymentEvent(link.token, f"SBX-{link.token}", link.amount_minor, link.currency)
    body = provider.event_body(event)
    try:
        service.receive_event(
            session,
            provider=provider,
            body=body,
            signature=provider.sign(body),
            today=settings.today(),
        )
    except DomainError as exc:
        return _checkout_page(request, link, error=exc.message)
    return RedirectResponse(f"/pay/{token}", status_code=status.HTTP_303_SEE_OTHER)
