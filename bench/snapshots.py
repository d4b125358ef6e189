"""Daily portfolio snapshots at scale, on PostgreSQL. Prints its figures; it is not a test.

    .venv/bin/python -m bench.snapshots [--loans 1000000] [--days 5] [--schema NAME]

Generates `--loans` loans (the demo generator, payments running past the benchmark's days so
each day has its own), takes the first day's snapshot by replaying every loan through the
ledger, then steps `--days` days forward (`backend/portfolio/step.py`), each checked against
the replay of 1,000 loans drawn at random. `--schema NAME` keeps the schema: a later run with
the same name reuses the loans and continues from the last snapshot.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from backend.demo.generator import generate
from backend.ledger.models import Loan, Payment
from backend.portfolio import snapshots
from backend.portfolio.models import SnapshotRun
from bench.outreach import postgres_schema

FIRST_DAY = date(2026, 11, 20)
PAYMENTS_UNTIL = date(2027, 1, 31)
TZ = "Asia/Shanghai"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--schema", help="keep this PostgreSQL schema and resume into it")
    args = parser.parse_args()
    # Each stepped day's phases (read, step, waiting on the replay, write and compare).
    logging.basicConfig(format="%(message)s")
    logging.getLogger("backend.portfolio").setLevel(logging.INFO)
    with postgres_schema(args.schema) as engine, Session(engine) as session:
        have = session.scalar(select(func.count()).select_from(Loan)) or 0
        if have < args.loans:
            t0 = time.perf_counter()
            generate(
                session,
                borrowers=args.loans - have,
                as_of=PAYMENTS_UNTIL,
                id_hash_key="bench",
                seed=have + 1,
                chunk_size=5000,
            )
            # Entered long before the days measured: a payment sends its loan to the replay
            # on the day it counts from, as the lender's feed would.
            session.execute(update(Payment).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
            session.commit()
            print(f"generated {args.loans - have:,} loans in {time.perf_counter() - t0:.0f} s")
        session.execute(text("ANALYZE"))
        session.commit()
        latest = session.scalar(select(func.max(SnapshotRun.as_of)))
        day = FIRST_DAY if latest is None else latest + timedelta(days=1)
        print("| day | method | loans | replayed | checked | differing | seconds | loans/s |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for _ in range(args.days + (latest is None)):
            t0 = time.perf_counter()
            run = snapshots.take(session, day, timezone=TZ, seed=day.toordinal())
            session.commit()
            seconds = time.perf_counter() - t0
            print(
                f"| {day} | {run.method} | {run.loans:,} | {run.replayed:,} | {run.checked:,} "
                f"| {run.mismatches} | {seconds:.1f} | {run.loans / seconds:,.0f} |",
                flush=True,
            )
            day += timedelta(days=1)


if __name__ == "__main__":
    main()
