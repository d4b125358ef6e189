"""Business days forward, in PostgreSQL: the next snapshot of every loan the day leaves alone,
from the day before's and its open installments, by the ledger's own rules (`statement.py`).

On a day with no payment, no arrangement and no credit to apply, a loan changes only by
- penalty interest of one more day on each overdue installment's unpaid principal (from the
  day after the due date, at the product's daily rate, exact until rounded half up),
- the late fee, and the penalty becoming owed, on the first day after an unpaid installment's
  grace (`charge_on`),
- an installment falling due: its interest is owed from today, and it is overdue tomorrow.
An open installment's principal cannot change on such days, so its state at any later day is
a closed form of what it was on the day it was last replayed or fell due (`base_on`): penalty
`penalty_base + principal * rate * days`, late once `charge_on` has come. The open items are
written once and only read while a loan is stepped.

A payment received today that pays exactly the one installment due today, on a loan with
nothing else open and no credit, settles that installment and nothing else: the on-time payer,
also stepped. Every other loan (any other payment received today, a payment entered since the
last run for an earlier day, an arrangement, credit meeting a due installment, a loan new since
yesterday) goes to the replay; and a random sample of the stepped ones is replayed too and
compared (`snapshots.py`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, MetaData, Table, text
from sqlalchemy.orm import Session

from backend.ledger.delinquency import UPPER_BOUNDS, Bucket


def _bucket_sql(dpd: str) -> str:
    """`bucket_for` as a CASE over the expression `dpd`."""
    arms = " ".join(f"WHEN {dpd} <= {upper} THEN '{b.value}'" for upper, b in UPPER_BOUNDS)
    return f"CASE {arms} ELSE '{Bucket.DPD_180_PLUS.value}' END"


# The loans the day step cannot carry forward, and those it settles an installment of, in
# temporary tables the next statements join.
REPLAY_TABLE = Table("snapshot_replay", MetaData(), Column("loan_id", BigInteger))

_SETS = [
    # The open items' aggregate in memory, not in batches on disk (the default is 4 MB); and
    # no JIT: compiling these statements cost more than running them.
    "SET LOCAL work_mem = '256MB'",
    "SET LOCAL jit = off",
    "CREATE TEMP TABLE IF NOT EXISTS snapshot_replay (loan_id bigint PRIMARY KEY)",
    "CREATE TEMP TABLE IF NOT EXISTS snapshot_paid (loan_id bigint PRIMARY KEY, amount bigint)",
    "DELETE FROM snapshot_replay",
    "DELETE FROM snapshot_paid",
    # Exactly today's installment, by a loan with nothing open and no credit yesterday. Each
    # part once, then hash joins: per-loan lookups in a million-loan book cost minutes.
    """
    INSERT INTO snapshot_paid
    WITH paid AS MATERIALIZED (
        SELECT loan_id, sum(amount_minor) AS amount FROM payments
         WHERE received_on = :d GROUP BY loan_id
    ), due AS MATERIALIZED (
        SELECT loan_id, count(*) AS n, sum(principal_minor + interest_minor) AS amount
          FROM installments WHERE due_date = :d GROUP BY loan_id
    ), entered_late AS MATERIALIZED (
        SELECT DISTINCT loan_id FROM payments WHERE created_at >= :since AND received_on < :d
    )
    SELECT t.loan_id, t.amount FROM paid t
      JOIN due ON due.loan_id = t.loan_id AND due.n = 1 AND due.amount = t.amount
      JOIN portfolio_snapshots p ON p.loan_id = t.loan_id AND p.as_of = :prev
     WHERE p.credit_minor = 0 AND p.future_principal_minor > 0
       AND NOT EXISTS (SELECT 1 FROM snapshot_items si WHERE si.loan_id = t.loan_id)
       AND NOT EXISTS (SELECT 1 FROM arrangements a WHERE a.loan_id = t.loan_id)
       AND NOT EXISTS (SELECT 1 FROM entered_late e WHERE e.loan_id = t.loan_id)
    """,
    """
    INSERT INTO snapshot_replay
    SELECT c.loan_id FROM (
        -- New since yesterday's snapshot (the filter inside: not lent yet is most of those
        -- missing from it, and an anti-join of every loan cost a second)
        SELECT l.id AS loan_id FROM loans l
         WHERE l.disbursed_on <= :d AND NOT EXISTS (
            SELECT 1 FROM portfolio_snapshots p WHERE p.as_of = :prev AND p.loan_id = l.id)
        UNION SELECT loan_id FROM payments
               WHERE received_on = :d OR (created_at >= :since AND received_on < :d)
        UNION SELECT loan_id FROM arrangements
        UNION SELECT p.loan_id FROM portfolio_snapshots p
                JOIN installments i ON i.loan_id = p.loan_id AND i.due_date = :d
               WHERE p.as_of = :prev AND p.credit_minor > 0
    ) c JOIN loans l ON l.id = c.loan_id
    WHERE l.disbursed_on <= :d
      AND NOT EXISTS (SELECT 1 FROM snapshot_paid s WHERE s.loan_id = c.loan_id)
    """,
    "ANALYZE snapshot_replay",
    "ANALYZE snapshot_paid",
]

_NOT_REPLAYED = "NOT EXISTS (SELECT 1 FROM snapshot_replay r WHERE r.loan_id = {col})"

_ITEMS = [
    "DELETE FROM snapshot_items si WHERE si.loan_id IN (SELECT loan_id FROM snapshot_replay)",
    # Installments falling due today (a loan with no principal left to come is closed; one
    # paid today, on time and exactly, is settled).
    f"""
    INSERT INTO snapshot_items (loan_id, seq, due_date, charge_on, principal_minor,
        interest_minor, fee_minor, late_fee_minor, penalty_paid_minor, penalty_base,
        base_on, rate, late)
    SELECT i.loan_id, i.seq, i.due_date, i.due_date + (l.grace_days + 1), i.principal_minor,
           i.interest_minor, 0, l.late_fee_minor, 0, 0, i.due_date,
           CAST(l.penalty_daily_rate AS NUMERIC), false
      FROM installments i
      JOIN loans l ON l.id = i.loan_id
      JOIN portfolio_snapshots p ON p.loan_id = i.loan_id AND p.as_of = :prev
     WHERE i.due_date = :d AND p.future_principal_minor > 0
       AND i.principal_minor + i.interest_minor > 0
       AND {_NOT_REPLAYED.format(col="i.loan_id")}
       AND NOT EXISTS (SELECT 1 FROM snapshot_paid s WHERE s.loan_id = i.loan_id)
    """,  # noqa: S608 (built from this module's constants alone)
]

# An open item's state at day :d (see the module's docstring).
LATE = "(si.late OR si.charge_on <= :d)"
EXACT = (
    "(si.penalty_base + si.principal_minor * si.rate"
    " * GREATEST(CAST(:d AS date) - GREATEST(si.base_on, si.due_date), 0))"
)
FEE = (
    "(si.fee_minor + CASE WHEN NOT si.late AND si.charge_on <= :d"
    " THEN si.late_fee_minor ELSE 0 END)"
)
PENALTY = f"(CASE WHEN {LATE} THEN round({EXACT}) ELSE 0 END - si.penalty_paid_minor)"

_FUTURE = (
    "(p.future_principal_minor - CASE WHEN p.future_principal_minor > 0"
    " THEN COALESCE(due.principal, 0) ELSE 0 END)"
)
_DPD = "COALESCE(CAST(:d AS date) - o.first_overdue, 0)"

_ROWS = f"""
INSERT INTO portfolio_snapshots (as_of, loan_id, principal_minor, interest_minor, fees_minor,
    penalty_minor, total_minor, overdue_minor, dpd, bucket, credit_minor,
    future_principal_minor, paid_month_minor, arrangement, promise_open, last_reply_on,
    last_contact_on)
SELECT :d, p.loan_id,
       {_FUTURE} + COALESCE(o.principal, 0),
       COALESCE(o.interest, 0), COALESCE(o.fees, 0), COALESCE(o.penalty, 0),
       {_FUTURE} + COALESCE(o.principal + o.interest + o.fees + o.penalty, 0),
       COALESCE(o.overdue, 0),
       {_DPD}, {_bucket_sql(_DPD)},
       p.credit_minor, {_FUTURE},
       CASE WHEN EXTRACT(DAY FROM CAST(:d AS date)) = 1 THEN 0 ELSE p.paid_month_minor END
           + COALESCE(paid.amount, 0),
       NULL, false, p.last_reply_on, p.last_contact_on
  FROM portfolio_snapshots p
  LEFT JOIN (
      SELECT i.loan_id,
             sum(i.principal) AS principal,
             sum(i.interest) AS interest,
             sum(i.fee) AS fees,
             sum(i.penalty) AS penalty,
             sum(CASE WHEN i.overdue THEN i.principal + i.interest + i.fee + i.penalty
                 ELSE 0 END) AS overdue,
             min(CASE WHEN i.overdue THEN i.due_date END) AS first_overdue
        FROM (
            -- Each item's state today once (OFFSET 0: not folded into the sums above).
            SELECT si.loan_id, si.due_date, si.due_date < :d AS overdue,
                   si.principal_minor AS principal, si.interest_minor AS interest,
                   {FEE} AS fee, CAST({PENALTY} AS bigint) AS penalty
              FROM snapshot_items si OFFSET 0
        ) i
       GROUP BY i.loan_id
  ) o ON o.loan_id = p.loan_id
  LEFT JOIN (
      SELECT loan_id, sum(principal_minor) AS principal
        FROM installments WHERE due_date = :d GROUP BY loan_id
  ) due ON due.loan_id = p.loan_id
  LEFT JOIN snapshot_paid paid ON paid.loan_id = p.loan_id
 WHERE p.as_of = :prev AND {_NOT_REPLAYED.format(col="p.loan_id")}
"""  # noqa: S608 (built from this module's constants alone)


def select_replay(session: Session, *, day: date, prev: date, since: datetime) -> list[int]:
    """The loans day `day` cannot step from `prev` (the day before, whose open items the
    database holds), in id order: payments received on `day`, or entered since `since` for an
    earlier day, among them. Kept for `write_stepped` in a temporary table."""
    params = {"d": day, "prev": prev, "since": since}
    for sql in _SETS:
        session.execute(text(sql), params)
    return list(session.scalars(text("SELECT loan_id FROM snapshot_replay ORDER BY loan_id")))


def write_stepped(session: Session, *, day: date, prev: date) -> int:
    """Write day `day`'s snapshot rows and open items of every loan of `prev` that
    `select_replay` left to the step; return how many rows."""
    params = {"d": day, "prev": prev}
    for sql in _ITEMS:
        session.execute(text(sql), params)
    return int(session.execute(text(_ROWS), params).rowcount)  # type: ignore[attr-defined]
