"""Risk training at scale, on PostgreSQL. Prints its figures; it is not a test.

    .venv/bin/python -m bench.risk --schema NAME [--months 4]

Works on a schema `bench.snapshots --schema NAME` made (its loans and daily snapshots): takes
the month-end snapshots of the `--months` months before its first day (those not taken yet) by
replaying every loan,
as `python -m backend snapshot --months N` does on a new installation, then trains both scores
(`python -m backend risk train`: every month end read, at most `MONTH_SAMPLE` loans of each)
and scores the latest day's open loans, timing each step.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.portfolio import snapshots
from backend.portfolio.models import SnapshotRun
from backend.risk import scoring, train
from bench.outreach import postgres_schema
from bench.snapshots import FIRST_DAY, TZ


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schema", required=True, help="a schema bench.snapshots kept")
    parser.add_argument("--months", type=int, default=4)
    args = parser.parse_args()
    with postgres_schema(args.schema) as engine, Session(engine) as session:
        if session.get(SnapshotRun, FIRST_DAY) is None:
            raise SystemExit(f"no snapshots in {args.schema}: run bench.snapshots --schema first")
        print("| step | loans | seconds | figure |")
        print("| --- | --- | --- | --- |")
        for day in snapshots.month_ends(FIRST_DAY, args.months):
            t0 = time.perf_counter()
            run = snapshots.take(session, day, timezone=TZ)
            session.commit()
            if run.taken:
                seconds = time.perf_counter() - t0
                print(
                    f"| month end {day}, replay | {run.loans:,} | {seconds:.1f} "
                    f"| {run.loans / seconds:,.0f} loans/s |",
                    flush=True,
                )
        for kind in train.KINDS:
            t0 = time.perf_counter()
            done = train.train(session, kind)
            session.commit()
            got = done.model.metrics
            print(
                f"| train {kind} | {got['train']['examples']:,} + {got['test']['examples']:,} "
                f"| {time.perf_counter() - t0:.1f} | {train.summary(done)} |",
                flush=True,
            )
        latest = session.scalar(select(func.max(SnapshotRun.as_of)))
        assert latest is not None
        t0 = time.perf_counter()
        scored = scoring.score_day(session, latest)
        session.commit()
        seconds = time.perf_counter() - t0
        print(f"| score {latest} | {scored:,} | {seconds:.1f} | {scored / seconds:,.0f} loans/s |")


if __name__ == "__main__":
    main()
