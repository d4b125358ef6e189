"""Listeners told when a payment is newly posted (never for a duplicate), so other business
areas (promises, plans) can react without the ledger importing them.

Listeners are registered at start-up (`create_app`), by name: registering a name again replaces
the earlier listener, so building several apps in one process (tests) calls each area once.
Each runs in the posting's transaction inside its own savepoint; one that fails is logged and
undone, and the payment still stands (the daily evaluations catch up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from backend.ledger.models import Payment

log = logging.getLogger(__name__)

PaymentListener = Callable[[Session, Payment, date], None]  # (session, payment, today)

payment_listeners: dict[str, PaymentListener] = {}


def on_payment_posted(name: str, listener: PaymentListener) -> None:
    payment_listeners[name] = listener


def payment_posted(session: Session, payment: Payment, today: date) -> None:
    for name, listener in list(payment_listeners.items()):
        try:
            with session.begin_nested():
                listener(session, payment, today)
        except Exception:
            log.exception("payment listener %r failed on payment %s", name, payment.id)
