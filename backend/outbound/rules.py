"""Pure rules of the outbox: how a delivery report moves a message, and how long a message
waits before it is tried again. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SENDERS = ("collector", "system")
STATUSES = ("pending", "delivered", "stored", "failed")
FINAL = frozenset({"delivered", "stored", "failed"})
REPORTS = ("delivered", "stored", "retry", "failed")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(minutes=10)


class RuleBroken(ValueError):
    """A report the rules refuse; `code` is the machine-readable reason."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th delivery failed: 10 s, doubling each time,
    never more than 10 minutes."""
    if attempts < 1:
        return FIRST_RETRY
    # min() first keeps the power small however large attempts is
    return min(FIRST_RETRY * (1 << min(attempts - 1, 16)), LONGEST_RETRY)


@dataclass(frozen=True, slots=True)
class Move:
    """What a delivery report does to a message: its new status and, when it goes back to
    the queue, when it may be tried again. `changed` False: the same final report again."""

    status: str
    next_attempt_at: datetime | None = None
    changed: bool = True


def on_report(
    *,
    status: str,
    attempts: int,
    report: str,
    now: datetime,
    retry_after: timedelta | None = None,
) -> Move:
    """The move a gateway's report makes. Delivered, stored and failed are final: the same
    final report again changes nothing, another one is refused. A retry waits `retry_after`
    (the channel's own say, e.g. a flood limit) or the backoff, and fails for good once the
    message has been tried MAX_ATTEMPTS times."""
    if report not in REPORTS:
        raise RuleBroken(
            f"unknown delivery status {report!r}; expected one of {', '.join(REPORTS)}",
            "unknown_status",
        )
    if status in FINAL:
        if report == status:
            return Move(status, changed=False)
        raise RuleBroken(
            f"the message is already {status}: a final delivery status does not change",
            "delivery_final",
        )
    if attempts < 1:
        raise RuleBroken("the message was never claimed: claim it first", "not_claimed")
    if report != "retry":
        return Move(report)
    if attempts >= MAX_ATTEMPTS:
        return Move("failed")
    wait = retry_after if retry_after is not None else backoff(attempts)
    return Move("pending", next_attempt_at=now + wait)
