"""Portfolio benchmark: generate N loans, then compute every loan's balance, DPD and bucket
as of one date, on SQLite and on PostgreSQL. Prints its figures; it is not a test.

    .venv/bin/python -m bench.portfolio [--loans 100000] [--targets sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections import Counter
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.demo.generator import generate
from backend.ledger.portfolio import positions
from backend.migrate import upgrade

AS_OF = date(2026, 11, 29)
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def run(label: str, session: Session, loans: int) -> None:
    t0 = time.perf_counter()
    generate(session, borrowers=loans, as_of=AS_OF, id_hash_key="bench", seed=1, chunk_size=5000)
    t1 = time.perf_counter()
    buckets: Counter[str] = Counter()
    count = 0
    for position in positions(session, AS_OF):
        buckets[position.bucket.value] += 1
        count += 1
    t2 = time.perf_counter()
    print(
        f"[{label}] generated {loans:,} loans in {t1 - t0:.1f} s ({loans / (t1 - t0):,.0f} loans/s)"
    )
    print(
        f"[{label}] balance, DPD and bucket of {count:,} loans as of {AS_OF}: "
        f"{t2 - t1:.1f} s = {count / (t2 - t1):,.0f} loans/s"
    )
    print(f"[{label}] buckets: " + ", ".join(f"{k} {v:,}" for k, v in sorted(buckets.items())))


def bench_sqlite(loans: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            run("sqlite", session, loans)
        engine.dispose()


def bench_postgres(loans: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        with engine.begin() as conn:
            upgrade(PG_URL, connection=conn)
        with Session(engine, expire_on_commit=False) as session:
            run("postgres", session, loans)
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--targets", default="sqlite,postgres")
    args = parser.parse_args()
    for target in args.targets.split(","):
        {"sqlite": bench_sqlite, "postgres": bench_postgres}[target](args.loans)


if __name__ == "__main__":
    main()
