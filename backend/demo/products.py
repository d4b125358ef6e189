"""The demo lender's loan products."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.ledger.models import Product

DEMO_PRODUCTS: tuple[dict[str, object], ...] = (
    {
        "code": "CASH-12",
        "name": "Cash loan, 12 months, equal installments (现金贷 12期 等额本息)",
        "currency": "CNY",
        "annual_rate": Decimal("0.18"),
        "term_months": 12,
        "schedule_type": "annuity",
        "penalty_daily_rate": Decimal("0.0005"),
        "late_fee_minor": 0,
        "grace_days": 3,
    },
    {
        "code": "CASH-6-EP",
        "name": "Cash loan, 6 months, equal principal (现金贷 6期 等额本金)",
        "currency": "CNY",
        "annual_rate": Decimal("0.15"),
        "term_months": 6,
        "schedule_type": "equal_principal",
        "penalty_daily_rate": Decimal("0.0003"),
        "late_fee_minor": 2000,
        "grace_days": 1,
    },
    {
        "code": "BIZ-12-IO",
        "name": "Business loan, 12 months, interest first (经营贷 12期 先息后本)",
        "currency": "CNY",
        "annual_rate": Decimal("0.12"),
        "term_months": 12,
        "schedule_type": "interest_only",
        "penalty_daily_rate": Decimal("0.0005"),
        "late_fee_minor": 5000,
        "grace_days": 3,
    },
    {
        "code": "SG-CASH-12",
        "name": "Personal loan, 12 months, equal installments (SGD)",
        "currency": "SGD",
        "annual_rate": Decimal("0.12"),
        "term_months": 12,
        "schedule_type": "annuity",
        "penalty_daily_rate": Decimal(0),
        "late_fee_minor": 2500,
        "grace_days": 0,
    },
)


def ensure_products(session: Session) -> dict[str, Product]:
    """Create the demo products that are missing; return all of them by code."""
    existing = {p.code: p for p in session.scalars(select(Product))}
    for spec in DEMO_PRODUCTS:
        if spec["code"] not in existing:
            product = Product(**spec)
            session.add(product)
            existing[product.code] = product
    session.flush()
    return existing
