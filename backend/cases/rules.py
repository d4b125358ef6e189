"""Pure rules of cases and handoffs: which kinds exist, who may file them, how they move, when
they hold proactive contact, in what order the handoff queue is served, and what a collector may
do in a chat (pass it on, open a case, write a note). No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# -- cases -----------------------------------------------------------------------------------

# payment_trace: the borrower says they paid and no payment is found; staff trace it.
CASE_KINDS = (
    "dispute",
    "hardship",
    "complaint",
    "distress",
    "opt_out",
    "contact_update",
    "payment_trace",
)
# Only a verified borrower may file these: they are about their own debt or identity.
NEEDS_VERIFIED_BORROWER = frozenset({"dispute", "hardship", "contact_update", "payment_trace"})
# These cover the borrower or the channel as a whole, never one loan.
NO_LOAN = frozenset({"distress", "opt_out"})

CASE_STATUSES = ("open", "in_progress", "resolved", "withdrawn")
OPEN_STATUSES = frozenset({"open", "in_progress"})
CASE_MOVES: dict[str, frozenset[str]] = {
    "open": frozenset({"open", "in_progress", "resolved", "withdrawn"}),
    "in_progress": frozenset({"open", "in_progress", "resolved", "withdrawn"}),
    "resolved": frozenset(),
    "withdrawn": frozenset(),
}


class RuleBroken(ValueError):
    """A request the rules refuse; `code` is the machine-readable reason."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_case_request(kind: str, *, has_loan: bool, hold: bool) -> None:
    """What a case of this kind may carry (who may file it is checked against the binding)."""
    if kind not in CASE_KINDS:
        raise RuleBroken(
            f"unknown case kind {kind!r}; expected one of {', '.join(CASE_KINDS)}", "unknown_kind"
        )
    if has_loan and kind in NO_LOAN:
        raise RuleBroken(
            f"a {kind} case covers the borrower, not one loan: leave out loan_ref",
            "loan_not_applicable",
        )
    if hold and kind != "hardship":
        raise RuleBroken("only a hardship report can ask for a hold", "hold_not_applicable")


def check_case_move(current: str, new: str) -> None:
    if new not in CASE_STATUSES:
        raise RuleBroken(
            f"unknown case status {new!r}; expected one of {', '.join(CASE_STATUSES)}",
            "unknown_status",
        )
    if new not in CASE_MOVES[current]:
        raise RuleBroken(f"the case is already {current}", "case_closed")


def is_closed_status(status: str) -> bool:
    return status not in OPEN_STATUSES


# What Rasa was given for a command or a button ("/request_human", '/inform{"amount": "500"}'):
# the action server files that as the details, but it is no one's words.
_INTENT_PAYLOAD = re.compile(r"/(\w+)(\{.*\})?", re.S)


def borrower_details(details: str, *, last_said: str | None) -> str:
    """The details of a case or handoff filed from a chat, as collectors should read them: an
    intent payload becomes what the borrower wrote (the chat's last borrower message, as the
    transcript shows it: "/human", a button's title), else a label made of the intent."""
    payload = _INTENT_PAYLOAD.fullmatch(details.strip())
    if payload is None:
        return details
    return last_said or payload.group(1).replace("_", " ")


# -- proactive contact -----------------------------------------------------------------------

# Reasons a proactive message may not go, most serious first.
HOLD_REASONS = ("distress", "opt_out", "dispute", "hardship_hold", "live_handoff")


@dataclass(frozen=True, slots=True)
class CaseFact:
    """A case as the contact rules see it. `borrower_id` is the borrower it concerns (filed by,
    or the one its conversation has been bound to since); `channel` is the channel it came in on."""

    kind: str
    status: str
    borrower_id: int | None
    loan_id: int | None
    channel: str
    hold: bool = False


def holds_contact(
    case: CaseFact, *, borrower_id: int, loan_id: int | None, channel: str
) -> str | None:
    """The reason this one case stops a proactive message, or None."""
    if case.borrower_id != borrower_id:
        return None
    if case.kind == "opt_out":
        # In force until the borrower opts in again; staff resolving it does not lift it.
        in_force = case.status != "withdrawn" and case.channel == channel
        return "opt_out" if in_force else None
    about_this_loan = case.loan_id is None or case.loan_id == loan_id
    reason = {
        "distress": "distress",
        "dispute": "dispute" if about_this_loan else None,
        "hardship": "hardship_hold" if case.hold and about_this_loan else None,
    }.get(case.kind)
    return reason if case.status in OPEN_STATUSES else None


def contact_hold(
    cases: Iterable[CaseFact],
    *,
    borrower_id: int,
    loan_id: int | None,
    channel: str,
    live_handoff: bool = False,
) -> str | None:
    """The most serious reason a proactive message to this borrower, about this loan (None: about
    no loan in particular), on this channel may not go; None when it may.

    A dispute pauses its loan (a dispute naming no loan: all of them), a hardship report with a
    hold likewise while open, a distress flag all the borrower's loans, an opt-out its channel,
    a live handoff everything."""
    reasons = {
        holds_contact(c, borrower_id=borrower_id, loan_id=loan_id, channel=channel) for c in cases
    }
    if live_handoff:
        reasons.add("live_handoff")
    return next((r for r in HOLD_REASONS if r in reasons), None)


# -- handoffs --------------------------------------------------------------------------------

HANDOFF_REASONS = (
    "borrower_request",
    "complaint",
    "distress",
    "dispute",
    "misunderstood",
    "broken_promises",
    "backend_unavailable",
    "other",
)
HANDOFF_STATUSES = ("waiting", "taken", "closed")
_RANK = {"distress": 0, "complaint": 1, "dispute": 1}
PRIORITY_LABELS = ("urgent", "high", "normal")


def check_handoff_reason(reason: str) -> None:
    if reason not in HANDOFF_REASONS:
        raise RuleBroken(
            f"unknown handoff reason {reason!r}; expected one of {', '.join(HANDOFF_REASONS)}",
            "unknown_reason",
        )


def priority_rank(reason: str) -> int:
    """0 is served first: distress, then complaints and disputes, then everything else."""
    return _RANK.get(reason, 2)


def priority_label(reason: str) -> str:
    return PRIORITY_LABELS[priority_rank(reason)]


def more_urgent(new_reason: str, current_reason: str) -> bool:
    return priority_rank(new_reason) < priority_rank(current_reason)


def queue_key(
    reason: str,
    created_at: datetime,
    handoff_id: int,
    *,
    risk: float | None = None,
    over_sla: bool = False,
) -> tuple[int, bool, float, datetime, int]:
    """Sort key of the handoff queue: most urgent reason first; within a rank, anyone kept
    waiting past the SLA, then the borrower most likely to roll to a worse bucket (`risk`, the
    roll_30 score; none: last), then whoever has waited longest (the id breaks ties between
    handoffs made in the same instant)."""
    return (priority_rank(reason), not over_sla, -(risk or 0.0), created_at, handoff_id)


def check_take(status: str, taken_by: str | None, collector: str) -> bool:
    """Whether taking changes anything (False: this collector already has it)."""
    if status == "closed":
        raise RuleBroken("the handoff is already closed", "handoff_closed")
    if status == "taken":
        if taken_by == collector:
            return False
        raise RuleBroken(f"the handoff is already taken by {taken_by}", "handoff_taken")
    return True


def check_reply(status: str, taken_by: str | None, collector: str) -> None:
    """Only the collector who has the chat writes to the borrower in it."""
    if status == "closed":
        raise RuleBroken("the handoff is already closed", "handoff_closed")
    if status == "waiting":
        raise RuleBroken("take the handoff before replying", "handoff_waiting")
    if taken_by != collector:
        raise RuleBroken(f"the handoff is taken by {taken_by}", "not_your_handoff")


def check_close(status: str) -> None:
    if status == "closed":
        raise RuleBroken("the handoff is already closed", "handoff_closed")


def check_transfer(
    status: str, taken_by: str | None, *, by: str, to: str, by_supervisor: bool
) -> None:
    """Who may pass a chat on: the collector who has it, or a supervisor for any open handoff
    (waiting or taken); never to the person who has it already."""
    if status == "closed":
        raise RuleBroken("the handoff is already closed", "handoff_closed")
    if not by_supervisor:
        check_reply(status, taken_by, by)
    if to == taken_by:
        raise RuleBroken(f"{to} already has this chat", "same_collector")


def waited_seconds(
    created_at: datetime, *, taken_at: datetime | None, closed_at: datetime | None, now: datetime
) -> int:
    """How long the borrower waited for a person: until taken, until closed untaken, or so far."""
    end = taken_at or closed_at or now
    return max(0, int((end - created_at).total_seconds()))


# -- in a taken chat -------------------------------------------------------------------------

# What a collector may open from a chat: the rest come from the borrower or the bot.
COLLECTOR_CASE_KINDS = ("dispute", "hardship")
NOTE_MAX_CHARS = 2000


def check_collector_case(kind: str) -> None:
    if kind not in COLLECTOR_CASE_KINDS:
        raise RuleBroken(
            f"a collector opens {' or '.join(COLLECTOR_CASE_KINDS)} cases, not {kind!r}",
            "unknown_kind",
        )


def clean_note(text: str) -> str:
    """A staff note as kept: without surrounding blanks, never empty, at most NOTE_MAX_CHARS
    (refused rather than cut, so nobody's note loses its end unseen)."""
    note = text.strip()
    if not note:
        raise RuleBroken("a note needs some text", "empty_note")
    if len(note) > NOTE_MAX_CHARS:
        raise RuleBroken(
            f"a note has at most {NOTE_MAX_CHARS} characters ({len(note)} given)", "note_too_long"
        )
    return note
