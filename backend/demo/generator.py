"""A random portfolio for load tests and benchmarks: `python -m backend generate --borrowers N`.

Borrowers behave in a few common ways (on time, stopped paying, pays late, pays part), so the
portfolio spreads over every bucket. Rows go in with set-based inserts, a chunk per transaction.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from backend.borrowers.identity import hash_id_number
from backend.borrowers.models import Borrower
from backend.demo.products import ensure_products
from backend.ledger.models import Installment, Loan, Payment, Product
from backend.ledger.schedule import ScheduledInstallment, build_schedule
from backend.ledger.service import product_terms

ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
ZH_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "平",
]
EN_FIRST = [
    "Emily",
    "David",
    "Sarah",
    "Michael",
    "Grace",
    "Daniel",
    "Olivia",
    "Ryan",
    "Chloe",
    "Jason",
]
EN_LAST = ["Tan", "Lim", "Lee", "Ng", "Wong", "Chen", "Smith", "Brown", "Taylor", "Khoo"]
EN_ZONES = [
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Hong_Kong",
    "Europe/London",
    "America/Los_Angeles",
]


@dataclass(frozen=True)
class Generated:
    borrowers: int
    loans: int
    installments: int
    payments: int


def _behaviour_payments(
    rng: random.Random, schedule: list[ScheduledInstallment], as_of: date
) -> Iterator[tuple[int, date]]:
    """Payments (amount, day) of one borrower up to `as_of`, by a randomly drawn habit."""
    habit = rng.choices(["on_time", "stopped", "late", "partial"], weights=[65, 15, 10, 10])[0]
    stop_after = rng.randint(0, len(schedule)) if habit == "stopped" else len(schedule)
    for row in schedule[:stop_after]:
        day = row.due_date
        amount = row.amount
        if habit == "late":
            day += timedelta(days=rng.randint(1, 40))
        elif habit == "partial":
            amount = max(row.amount * rng.randint(30, 90) // 100, 1)
        if day <= as_of:
            yield amount, day


def _chunks(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def generate(
    session: Session,
    *,
    borrowers: int,
    as_of: date,
    id_hash_key: str,
    seed: int = 0,
    chunk_size: int = 2000,
    progress: bool = True,
) -> Generated:
    """Add `borrowers` random borrowers, one loan each; commits after every chunk."""
    rng = random.Random(seed)
    products = list(ensure_products(session).values())
    start = session.scalar(select(func.count()).select_from(Borrower)) or 0
    session.commit()
    totals = [0, 0, 0, 0]
    bar = tqdm(total=borrowers, unit="borrower", disable=not progress, desc="generating")
    number = start
    for size in _chunks(borrowers, chunk_size):
        conn = session.connection()
        b_rows, plans = [], []
        for _ in range(size):
            number += 1
            b_rows.append(_borrower_row(rng, number, id_hash_key))
            plans.append(_loan_plan(rng, products, as_of))
        b_ids = conn.scalars(
            insert(Borrower).returning(Borrower.id, sort_by_parameter_order=True), b_rows
        ).all()
        l_rows = []
        for (product, principal, disbursed), b_id, b_row in zip(plans, b_ids, b_rows, strict=True):
            terms = product_terms(product, principal=principal, disbursed_on=disbursed)
            l_rows.append(
                {
                    "ref": "L-" + b_row["ref"],
                    "borrower_id": b_id,
                    "product_id": product.id,
                    "currency": product.currency,
                    "principal_minor": principal,
                    "annual_rate": terms.annual_rate,
                    "term_months": terms.term_months,
                    "schedule_type": terms.schedule_type.value,
                    "penalty_daily_rate": terms.late_charges.penalty_daily_rate,
                    "late_fee_minor": terms.late_charges.late_fee,
                    "grace_days": terms.late_charges.grace_days,
                    "waterfall": product.waterfall,
                    "disbursed_on": disbursed,
                }
            )
        l_ids = conn.scalars(
            insert(Loan).returning(Loan.id, sort_by_parameter_order=True), l_rows
        ).all()
        i_rows: list[dict[str, Any]] = []
        p_rows: list[dict[str, Any]] = []
        for (product, principal, disbursed), l_id, l_row in zip(plans, l_ids, l_rows, strict=True):
            schedule = build_schedule(
                product_terms(product, principal=principal, disbursed_on=disbursed)
            )
            i_rows.extend(
                {
                    "loan_id": l_id,
                    "seq": r.seq,
                    "due_date": r.due_date,
                    "principal_minor": r.principal,
                    "interest_minor": r.interest,
                }
                for r in schedule
            )
            for k, (amount, day) in enumerate(_behaviour_payments(rng, schedule, as_of), 1):
                p_rows.append(
                    {
                        "loan_id": l_id,
                        "provider": "generated",
                        "reference": f"{l_row['ref']}-{k}",
                        "amount_minor": amount,
                        "currency": product.currency,
                        "received_on": day,
                    }
                )
        conn.execute(insert(Installment), i_rows)
        if p_rows:
            conn.execute(insert(Payment), p_rows)
        session.commit()
        totals = [
            totals[0] + size,
            totals[1] + size,
            totals[2] + len(i_rows),
            totals[3] + len(p_rows),
        ]
        bar.update(size)
    bar.close()
    return Generated(*totals)


def _borrower_row(rng: random.Random, number: int, id_hash_key: str) -> dict[str, Any]:
    zh = rng.random() < 0.7
    if zh:
        name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
        phone = f"+861{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}"
        id_number = "".join(str(rng.randint(0, 9)) for _ in range(17)) + rng.choice("0123456789X")
        zone = "Asia/Shanghai"
    else:
        name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
        phone = f"+65{rng.choice('89')}{rng.randint(0, 9_999_999):07d}"
        id_number = f"S{rng.randint(0, 9_999_999):07d}{rng.choice('ABCDEFGHIJZ')}"
        zone = rng.choice(EN_ZONES)
    return {
        "ref": f"G{number:08d}",
        "full_name": name,
        "phone_e164": phone,
        "id_number_hash": hash_id_number(id_number, id_hash_key),
        "id_last4": id_number[-4:],
        "date_of_birth": date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        "language": "zh" if zh else "en",
        "timezone": zone,
    }


def _loan_plan(
    rng: random.Random, products: list[Product], as_of: date
) -> tuple[Product, int, date]:
    product = rng.choice(products)
    principal = rng.randint(10, 500) * 10_000  # 1,000.00 to 50,000.00
    disbursed = as_of - timedelta(days=rng.randint(10, 540))
    return product, principal, disbursed
